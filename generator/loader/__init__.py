"""Read a spec file into plain data plus the line and column of every node, then validate it
against spec/schema.json. Every problem is collected; nothing is reported as a traceback.

`source` reads the file, `events` builds the data from the YAML event stream within bounds,
`validate` checks it against the JSON Schema. Import from `generator.loader`."""

from __future__ import annotations

from generator.loader.events import MAX_ALIASES, MAX_DEPTH
from generator.loader.source import MAX_BYTES, PROJECT_ROOT, Locations, RawSpec, display_path, load_raw, parse_text
from generator.loader.validate import fast_validator, schema, validate_schema, validator

__all__ = [
    "MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "PROJECT_ROOT", "Locations", "RawSpec", "display_path",
    "fast_validator", "load_raw", "parse_text", "schema", "validate_schema", "validator",
]
