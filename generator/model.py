"""The one frozen, typed model of a spec. Renderers, lints, the lock workflow and the
conformance suite read this, never raw YAML. Derived facts live here as properties."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generator.problems import Location

_C_INT_LIMITS: dict[str, tuple[int, int]] = {
    "int": (-(2**31), 2**31 - 1),
    "int32_t": (-(2**31), 2**31 - 1),
    "int64_t": (-(2**63), 2**63 - 1),
    "uint32_t": (0, 2**32 - 1),
    "uint64_t": (0, 2**64 - 1),
    "size_t": (0, 2**64 - 1),
}
FLOAT_TYPES = frozenset({"float", "double"})
SCALAR_TYPES = frozenset({*_C_INT_LIMITS, *FLOAT_TYPES, "bool", "char", "void"})
_CTYPE_RE = re.compile(r"^(const )?([A-Za-z_][A-Za-z0-9_]*)( ?\*)?$")


@dataclass(frozen=True)
class CType:
    """A C type as the spec language allows: an optional const, a base name, one pointer."""

    base: str
    const: bool = False
    pointer: bool = False

    @classmethod
    def parse(cls, text: str) -> CType:
        m = _CTYPE_RE.match(text.strip())
        if not m:
            raise ValueError(f"not a C type of the spec language: {text!r}")
        return cls(base=m.group(2), const=bool(m.group(1)), pointer=bool(m.group(3)))

    @property
    def c(self) -> str:
        return f"{'const ' if self.const else ''}{self.base}{'*' if self.pointer else ''}"

    def decl(self, name: str) -> str:
        """`int* error_code`, `const char* prompt`, `float temperature`."""
        return f"{self.c} {name}"

    @property
    def is_void(self) -> bool:
        return self.base == "void" and not self.pointer

    @property
    def is_string(self) -> bool:
        return self.base == "char" and self.pointer and self.const

    @property
    def is_char_buffer(self) -> bool:
        return self.base == "char" and self.pointer and not self.const

    @property
    def is_integer(self) -> bool:
        return not self.pointer and self.base in _C_INT_LIMITS

    @property
    def is_float(self) -> bool:
        return not self.pointer and self.base in FLOAT_TYPES

    @property
    def is_bool(self) -> bool:
        return not self.pointer and self.base == "bool"

    @property
    def int_limits(self) -> tuple[int, int] | None:
        return _C_INT_LIMITS.get(self.base) if not self.pointer else None

    @property
    def python_type(self) -> str:
        """The Python annotation of a value of this type crossing the bindings."""
        if self.is_string:
            return "str"
        if self.is_void:
            return "None"
        if self.is_bool:
            return "bool"
        if self.is_float:
            return "float"
        return "int"


@dataclass(frozen=True)
class ErrorCode:
    name: str
    value: int
    key: str
    message: str
    http_status: int
    retriable: bool
    doc: str
    since: str | None
    python_bases: tuple[str, ...]
    location: Location

    @property
    def is_success(self) -> bool:
        return self.value == 0

    @property
    def python_exception(self) -> str:
        """`VRAM_OOM` -> `VramOomError`; the Python class raised for this code."""
        return "".join(part.capitalize() for part in self.key.split("_")) + "Error"


@dataclass(frozen=True)
class ErrorTable:
    enum: str
    extensible: bool
    doc: str
    codes: tuple[ErrorCode, ...]
    unrecognized_message: str

    def by_key(self, key: str) -> ErrorCode:
        for code in self.codes:
            if code.key == key:
                return code
        raise KeyError(key)

    @property
    def success(self) -> ErrorCode:
        return next(c for c in self.codes if c.is_success)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.codes)


@dataclass(frozen=True)
class Handle:
    name: str
    doc: str
    parent: str | None
    created_by: str
    destroyed_by: str
    thread_safety: str
    location: Location


@dataclass(frozen=True)
class AllowedValue:
    value: int
    name: str
    doc: str


@dataclass(frozen=True)
class Range:
    min: float | int | None = None
    max: float | int | None = None
    finite: bool = False

    def describe(self) -> str:
        lo = "-inf" if self.min is None else _num(self.min)
        hi = "+inf" if self.max is None else _num(self.max)
        if self.min is not None and self.max is None:
            return f">= {lo}"
        if self.max is not None and self.min is None:
            return f"<= {hi}"
        return f"[{lo}, {hi}]"


def _num(x: float | int) -> str:
    return repr(x) if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Param:
    name: str
    ctype: CType
    direction: str
    nullable: bool
    ownership: str
    doc: str
    location: Location
    range: Range | None = None
    allowed: tuple[AllowedValue, ...] = ()
    on_violation: str = "INVALID_PARAMETER"
    len: str | None = None
    utf8: bool = False
    min_bytes: int | None = None
    written: str | None = None
    handle: str | None = None  # the handle type when ctype is `Handle*`
    is_error_out: bool = False
    index: int = 0  # position in the function's parameter list

    @property
    def is_pointer(self) -> bool:
        return self.ctype.pointer

    def c_literal(self, value: float | int) -> str:
        """A bound as C source for this parameter's type (`2.0f`, `2048`)."""
        if self.ctype.base == "float":
            return f"{float(value)!r}f"
        if self.ctype.base == "double":
            return repr(float(value))
        suffix = "ULL" if self.ctype.base in ("uint64_t", "size_t") else ""
        return f"{int(value)}{suffix}"

    def impl_type(self, destroyer: bool = False) -> str:
        """How the native implementation receives this parameter: handles arrive resolved,
        by reference (a destroyer is only called for a live handle), or by pointer if NULL
        is allowed."""
        if self.handle is None:
            return self.ctype.c
        ref = "*" if self.nullable and not destroyer else "&"
        return f"::worker::core::object_t<{self.handle}>{ref}"

    @property
    def constraint_text(self) -> str:
        """Human-readable summary of every rule on this parameter."""
        parts = []
        if self.is_pointer:
            parts.append("may be NULL" if self.nullable else "must not be NULL")
        if self.range:
            parts.append(("finite, " if self.range.finite else "") + self.range.describe())
        if self.allowed:
            parts.append("one of " + ", ".join(f"{a.value} ({a.name})" for a in self.allowed))
        if self.utf8:
            parts.append("valid UTF-8")
        if self.min_bytes:
            parts.append(f"at least {self.min_bytes} byte(s)")
        if self.len:
            parts.append(f"capacity given by {self.len}")
        if (self.range or self.allowed) and self.on_violation != "INVALID_PARAMETER":
            parts.append(f"else {self.on_violation}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Returns:
    ctype: CType
    ownership: str | None
    nullable: bool
    on_error: str | None
    false_means: str | None
    doc: str
    handle: str | None
    values: tuple[AllowedValue, ...] = ()  # the closed set of integer results on success


@dataclass(frozen=True)
class ThreadSafety:
    cls: str
    sync_on: tuple[str, ...] = ()
    concurrent_with: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.cls == "safe":
            return "safe from any thread"
        text = "externally synchronised"
        if self.sync_on:
            text += " on " + ", ".join(self.sync_on)
        if self.concurrent_with:
            text += "; may run concurrently with " + ", ".join(self.concurrent_with) + " on the same handle"
        return text


@dataclass(frozen=True)
class Deprecation:
    since: str
    replacement: str | None
    reason: str


@dataclass(frozen=True)
class Function:
    name: str
    group: str
    since: str
    doc: str
    details: str
    params: tuple[Param, ...]
    returns: Returns
    errors: tuple[str, ...]
    thread_safety: ThreadSafety
    location: Location
    role: str | None = None
    alias_of: str | None = None
    deprecated: Deprecation | None = None
    requirements: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    creates: str | None = None   # handle type this function creates
    destroys: str | None = None  # handle type this function destroys
    index: int = 0               # position in the spec's function list

    @property
    def error_param(self) -> Param | None:
        return next((p for p in self.params if p.is_error_out), None)

    @property
    def has_error_channel(self) -> bool:
        return self.error_param is not None

    @property
    def fallible(self) -> bool:
        return bool(self.errors)

    @property
    def c_params(self) -> str:
        return ", ".join(p.ctype.decl(p.name) for p in self.params) or "void"

    @property
    def c_signature(self) -> str:
        return f"{self.returns.ctype.c} {self.name}({self.c_params})"

    @property
    def signature_key(self) -> tuple[str, ...]:
        return (self.returns.ctype.c, *(p.ctype.c for p in self.params))

    @cached_property
    def handle_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.handle)

    @property
    def impl_params(self) -> tuple[Param, ...]:
        """Parameters the native implementation receives (the error channel is the boundary's)."""
        return tuple(p for p in self.params if not p.is_error_out)

    @property
    def generated_body(self) -> bool:
        """True when the generator writes the whole native body (roles) or forwards (aliases)."""
        return self.role is not None or self.alias_of is not None

    @property
    def impl_decl(self) -> str:
        """The C++ declaration the native core implements for this function."""
        params = ", ".join(f"{p.impl_type(self.destroys is not None)} {p.name}"
                           for p in self.impl_params)
        return f"{self.returns.ctype.c} {self.name}({params})"

    @property
    def cpp_on_error(self) -> str:
        """The error return value as C++ source."""
        value = self.returns.on_error
        if value is None:
            return "nullptr" if self.returns.ctype.pointer else "0"
        return "nullptr" if value == "NULL" else value

    @property
    def impl_name(self) -> str:
        return self.alias_of or self.name

    @property
    def python_params(self) -> tuple[Param, ...]:
        """What a Python caller passes: inputs other than the receiving handle (`self`) and
        buffer capacities (the bindings own the buffers)."""
        capacities = {p.len for p in self.params if p.len}
        receiver = self.handle_params[0].name if self.handle_params else None
        return tuple(p for p in self.params if p.direction == "in" and p.name != receiver
                     and p.name not in capacities)

    @property
    def python_out_values(self) -> tuple[Param, ...]:
        """Required out-parameters other than the error channel and text buffers: the
        bindings keep them as attributes of the result (`model.vram_bytes_used`)."""
        return tuple(p for p in self.params if p.direction == "out" and not p.is_error_out
                     and not p.ctype.is_char_buffer and not p.nullable)


@dataclass(frozen=True)
class Group:
    name: str
    title: str
    doc: str


@dataclass(frozen=True)
class Consumer:
    team: str
    contact: str
    uses: str


@dataclass(frozen=True)
class ExceptionEntry:
    id: str
    applies_to: tuple[str, ...]
    rule: str
    reason: str
    location: Location


@dataclass(frozen=True)
class ChangelogEntry:
    version: str
    date: str | None
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Header:
    path: str
    guard: str
    api_macro: str
    includes: tuple[str, ...]


@dataclass(frozen=True)
class Interface:
    name: str
    title: str
    version: str
    c_prefix: str
    doc: str
    header: Header
    error_out_param: str
    consumers: tuple[Consumer, ...]
    principles: tuple[str, ...]

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        major, minor, patch = (int(x) for x in self.version.split("."))
        return major, minor, patch


@dataclass(frozen=True)
class Spec:
    """The normalised contract. `contract_hash` covers every field that binds callers or
    implementations and no pure documentation, so a doc-only edit keeps the hash."""

    source: str
    sha256: str
    interface: Interface
    groups: tuple[Group, ...]
    errors: ErrorTable
    handles: tuple[Handle, ...]
    functions: tuple[Function, ...]
    model_format: Any
    exceptions: tuple[ExceptionEntry, ...]
    changelog: tuple[ChangelogEntry, ...]
    contract_hash: str = field(default="")
    # The HTTP service over this contract (generator.http.model.HttpService), or None.
    http: Any = field(default=None)
    # Where each node of the source sits (path -> location); not part of the contract.
    locations: Any = field(default=None, compare=False, repr=False)

    # Lookups are indexed once per model (frozen dataclasses still allow cached_property,
    # which writes the instance dict directly), so renderers stay linear in the spec's size.
    @cached_property
    def _functions_by_name(self) -> dict[str, Function]:
        return {fn.name: fn for fn in reversed(self.functions)}  # the first declaration wins

    @cached_property
    def _handles_by_name(self) -> dict[str, Handle]:
        return {h.name: h for h in reversed(self.handles)}

    @cached_property
    def _functions_by_group(self) -> dict[str, tuple[Function, ...]]:
        groups: dict[str, list[Function]] = {}
        for fn in self.functions:
            groups.setdefault(fn.group, []).append(fn)
        return {g: tuple(fns) for g, fns in groups.items()}

    def function(self, name: str) -> Function:
        return self._functions_by_name[name]

    def handle(self, name: str) -> Handle:
        return self._handles_by_name[name]

    def functions_in(self, group: str) -> tuple[Function, ...]:
        return self._functions_by_group.get(group, ())

    def by_role(self, role: str) -> Function:
        return next(f for f in self.functions if f.role == role)

    @property
    def requirement_index(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Requirement ID -> the functions that implement it, sorted by ID."""
        reqs = sorted({r for f in self.functions for r in f.requirements})
        return tuple((r, tuple(f.name for f in self.functions if r in f.requirements))
                     for r in reqs)

    def children_of(self, handle: str) -> tuple[Handle, ...]:
        return tuple(h for h in self.handles if h.parent == handle)

    # -- Python bindings: names and placement derived once, read by the Python templates --

    def return_value_macro(self, fn: Function, value: AllowedValue) -> str:
        """`cuda_inference_stop_reason` value EOS -> `CUDA_INFERENCE_STOP_REASON_EOS`."""
        short = fn.name.removeprefix(self.interface.c_prefix)
        return f"{self.interface.c_prefix.upper()}{short.upper()}_{value.name}"

    def python_class(self, handle: str) -> str:
        """`CudaModel` -> `Model`: named after the group of the function that creates it."""
        return self.function(self.handle(handle).created_by).group.capitalize()

    @staticmethod
    def python_receiver(fn: Function) -> str | None:
        """The handle whose Python class carries `fn` (its first handle parameter); None for
        functions of the library object."""
        return fn.handle_params[0].handle if fn.handle_params else None

    def python_method(self, fn: Function) -> str:
        """`cuda_inference_next_token` -> `next_token`: the prefix goes, and so does the noun of
        the receiving or created handle (`model.get_vram_usage()`, `model.start()`)."""
        name = fn.name.removeprefix(self.interface.c_prefix)
        for handle in (self.python_receiver(fn), fn.creates):
            if handle is not None:
                noun = self.function(self.handle(handle).created_by).group + "_"
                if name.startswith(noun):
                    return name[len(noun):]
        return name

    def python_methods(self, receiver: str | None) -> tuple[Function, ...]:
        """Functions exposed as methods of `receiver`'s class (None: the library object).
        Destroyers become `close()`; deprecated aliases are reachable as their target."""
        return self._python_methods_by_receiver.get(receiver, ())

    @cached_property
    def _python_methods_by_receiver(self) -> dict[str | None, tuple[Function, ...]]:
        methods: dict[str | None, list[Function]] = {}
        for f in self.functions:
            if f.destroys is None and f.alias_of is None:
                methods.setdefault(self.python_receiver(f), []).append(f)
        return {r: tuple(fns) for r, fns in methods.items()}

    def python_stream(self, handle: str) -> Function | None:
        """The function that makes `handle` iterable: a bool-returning method of it that
        writes a text buffer (`for piece in inference`)."""
        return next((f for f in self.python_methods(handle)
                     if f.returns.ctype.is_bool and any(p.ctype.is_char_buffer for p in f.params)),
                    None)
