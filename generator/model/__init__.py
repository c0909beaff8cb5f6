"""The one frozen, typed model of a spec. Renderers, lints, the lock workflow and the
conformance suite read this, never raw YAML. Derived facts live here as properties.

One module per part: C types (ctype), the error table and channels (errors), declared types
and handles (types), parameters (params), functions (functions), the interface and its
targets (interface), and the spec that holds them all (spec). Import from `generator.model`."""

from __future__ import annotations

from generator.model.ctype import FLOAT_TYPES, SCALAR_TYPES, STANDARD_HEADERS, CType
from generator.model.errors import NO_CHANNEL, ErrorChannel, ErrorCode, ErrorTable
from generator.model.functions import Deprecation, Function, Returns, ThreadSafety
from generator.model.interface import (
    ChangelogEntry,
    Consumer,
    ExceptionEntry,
    Group,
    Header,
    Interface,
    Targets,
)
from generator.model.params import Param, Range
from generator.model.spec import Spec
from generator.model.types import AllowedValue, Handle, TypeDecl, TypeField

__all__ = [
    "FLOAT_TYPES", "NO_CHANNEL", "SCALAR_TYPES", "STANDARD_HEADERS", "AllowedValue",
    "ChangelogEntry", "Consumer", "CType", "Deprecation", "ErrorChannel", "ErrorCode",
    "ErrorTable", "ExceptionEntry", "Function", "Group", "Handle", "Header", "Interface", "Param",
    "Range", "Returns", "Spec", "Targets", "ThreadSafety", "TypeDecl", "TypeField",
]
