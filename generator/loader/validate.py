"""Validate a spec against its JSON Schema (generator/schema.json): a compiled validator says
whether it is valid; for an invalid spec, jsonschema reports every violation, each turned into
a problem with its location and a fix hint."""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib.util
import json
import marshal
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from generator.loader.source import RawSpec
from generator.problems import Path, Problem
from generator.usercache import cache_dir

if TYPE_CHECKING:
    import jsonschema


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("generator").joinpath("schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def _strict(node: Any) -> Any:
    """The schema for Python's `re`: a pattern's final `$` becomes `\\Z`, because Python's `$`
    also matches before a trailing newline ("name\\n" would pass `^[a-z]+$`); the published
    schema keeps `$`, which means end of text in the ECMA-262 dialect editors use."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
            out["pattern"] = pattern[:-1] + "\\Z"
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft202012Validator:
    """One validator for the process (building it compiles the schema). jsonschema is
    imported only here, for a spec the fast validator refused: importing it takes longer
    than validating a valid spec."""
    import jsonschema

    return jsonschema.Draft202012Validator(_strict(copy.deepcopy(schema())))


def _draft7(node: Any) -> Any:
    """The schema as fastjsonschema reads it (draft 7): `$ref` ignores sibling keywords there,
    so a `$ref` with siblings becomes `allOf: [{$ref}]` plus the siblings."""
    if isinstance(node, dict):
        out = {k: _draft7(v) for k, v in node.items() if k != "$schema"}
        if "$ref" in out and set(out) - {"$ref", "description", "default"}:
            out["allOf"] = [{"$ref": out.pop("$ref")}]
        return out
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    return node


class _Invalid(Exception):
    """What the compiled validator raises here for an invalid spec: its code is generated to
    import fastjsonschema's exception classes, which would mean importing fastjsonschema on
    every run; validate_schema reads nothing from the exception but that it was raised."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args)


# The line of fastjsonschema's generated code that the cached code does without (_Invalid).
_EXCEPTIONS_IMPORT = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException\n"


@lru_cache(maxsize=1)
def fast_validator() -> Callable[[Any], Any] | None:
    """A compiled validator (fastjsonschema) that answers "valid?" 15-40x faster than
    jsonschema; its code is cached per user, keyed by the schema and the installed library,
    so a run with the cache in place does not import fastjsonschema at all. jsonschema still
    reports the problems of an invalid spec, with every violation."""
    library = importlib.util.find_spec("fastjsonschema")
    if library is None or library.origin is None:
        return None
    definition = _draft7(_strict(copy.deepcopy(schema())))
    installed = os.stat(library.origin)
    key = hashlib.sha256(json.dumps([definition, library.origin, installed.st_mtime_ns,
                                     installed.st_size, sys.version],
                                    sort_keys=True).encode()).hexdigest()[:24]
    base = cache_dir()
    cached = base / f"schema-{key}.marshal" if base is not None else None
    try:
        if cached is None:
            raise OSError("no cache directory")
        code = marshal.loads(cached.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        import fastjsonschema  # type: ignore[import-untyped,import-not-found,unused-ignore]

        source = fastjsonschema.compile_to_code(definition, use_default=False)
        code = compile(source.replace(_EXCEPTIONS_IMPORT, "", 1), "<ffispec schema validator>",
                       "exec")
        try:
            if cached is not None:
                tmp = cached.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(marshal.dumps(code))
                os.replace(tmp, cached)
        except OSError:
            pass  # read-only cache: compile every time
    namespace: dict[str, Any] = {"JsonSchemaValueException": _Invalid,
                                 "JsonSchemaValuesException": _Invalid}
    exec(code, namespace)  # noqa: S102 - code generated from our own schema
    entry = namespace.get("validate")
    if entry is None:
        names = sorted((k for k in namespace if k.startswith("validate_")), key=len)
        entry = namespace[names[0]] if names else None
    return entry if callable(entry) else None


def validate_schema(raw: RawSpec) -> list[Problem]:
    """Validate against the JSON Schema; one problem per violation, with a fix hint."""
    fast = fast_validator()
    if fast is not None:
        try:
            fast(raw.data)
            return []
        except Exception:  # noqa: BLE001 - invalid (or not understood): jsonschema says why
            pass
    problems = []
    for err in validator().iter_errors(raw.data):
        path: Path = tuple(err.absolute_path)
        problems.extend(_schema_problems(raw, err, path))
    return problems


_OUTPUT_PATH = _strict(schema())["$defs"]["output_path"]["pattern"]


def _schema_problems(raw: RawSpec, err: jsonschema.ValidationError, path: Path) -> list[Problem]:
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        schema_node = err.schema if isinstance(err.schema, dict) else {}
        allowed = sorted(schema_node.get("properties", {}))
        out = []
        for key in err.instance:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
            loc = raw.locations.get((*path, key, "<key>"), raw.where(path))
            out.append(Problem("SPEC-unknown-key", f"unknown key {key!r}", loc, (*path, key), hint))
        return out
    if err.validator == "required":
        return [Problem("SPEC-missing-key", err.message, raw.where(path), path,
                        "add the missing key")]
    if err.validator == "enum":
        options = list(err.validator_value) if isinstance(err.validator_value, list) else []
        choices = ", ".join(repr(c) for c in options)
        close = difflib.get_close_matches(str(err.instance), [str(c) for c in options], n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {choices}"
        return [Problem("SPEC-invalid-value", f"{err.instance!r} is not one of {choices}",
                        raw.where(path), path, hint)]
    if err.validator == "type":
        return [Problem("SPEC-wrong-type", f"expected {err.validator_value}, got "
                        f"{type(err.instance).__name__} {err.instance!r}", raw.where(path), path,
                        f"write a {err.validator_value} here")]
    if err.validator == "pattern" and err.validator_value == _OUTPUT_PATH:
        return [Problem("SPEC-output-path", f"{err.instance!r} is not a path inside the project: "
                        "an output path is relative to --root and stays inside it", raw.where(path),
                        path, "write a relative path of plain names (letters, digits, _ . + -) "
                        "joined by /, without .. or a leading /")]
    if err.validator == "pattern":
        return [Problem("SPEC-invalid-value", f"{err.instance!r} does not match the required form "
                        f"{err.validator_value!r}", raw.where(path), path,
                        "see spec/schema.json for the accepted form")]
    return [Problem("SPEC-schema", err.message, raw.where(path), path,
                    "see spec/schema.json for this field")]
