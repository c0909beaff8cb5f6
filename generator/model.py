"""The one frozen, typed model of a spec. Renderers, lints, the lock workflow and the
conformance suite read this, never raw YAML. Derived facts live here as properties."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generator.problems import Location


def _bits(signed: bool, bits: int) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


# The integer types of the spec language with their limits on the ABIs the toolkit targets
# (LP64: long is 64 bits). Multi-word spellings are canonicalised by CType.parse.
_C_INT_LIMITS: dict[str, tuple[int, int]] = {
    "int": _bits(True, 32), "signed int": _bits(True, 32), "unsigned int": _bits(False, 32),
    "short": _bits(True, 16), "unsigned short": _bits(False, 16),
    "long": _bits(True, 64), "unsigned long": _bits(False, 64),
    "long long": _bits(True, 64), "unsigned long long": _bits(False, 64),
    "signed char": _bits(True, 8), "unsigned char": _bits(False, 8),
    **{f"int{n}_t": _bits(True, n) for n in (8, 16, 32, 64)},
    **{f"uint{n}_t": _bits(False, n) for n in (8, 16, 32, 64)},
    "intptr_t": _bits(True, 64), "uintptr_t": _bits(False, 64),
    "size_t": _bits(False, 64), "ptrdiff_t": _bits(True, 64), "ssize_t": _bits(True, 64),
}
FLOAT_TYPES = frozenset({"float", "double", "long double"})
SCALAR_TYPES = frozenset({*_C_INT_LIMITS, *FLOAT_TYPES, "bool", "char", "void"})
# Which standard header declares a type the spec uses; the header's includes derive from it.
STANDARD_HEADERS: dict[str, str] = {
    "bool": "stdbool.h", "size_t": "stddef.h", "ptrdiff_t": "stddef.h",
    "intptr_t": "stdint.h", "uintptr_t": "stdint.h", "ssize_t": "sys/types.h",
    **{f"{u}int{n}_t": "stdint.h" for u in ("", "u") for n in (8, 16, 32, 64)},
}
_TYPE_WORDS = frozenset({"unsigned", "signed", "long", "short", "int", "char", "double"})
_TOKEN_RE = re.compile(r"\*|[A-Za-z_][A-Za-z0-9_]*|\S")


def _canonical_base(words: list[str]) -> str:
    """`long unsigned int long` -> `unsigned long long`; `unsigned` -> `unsigned int`."""
    if len(words) == 1 and words[0] not in ("unsigned", "signed", "long", "short"):
        return words[0]
    if any(w not in _TYPE_WORDS for w in words):
        raise ValueError(f"{' '.join(words)!r} mixes a type name with other words")
    sign = "unsigned " if "unsigned" in words else ("signed " if "signed" in words and "char" in words else "")
    longs = words.count("long")
    if "char" in words:
        return f"{sign}char" if sign else "char"
    if "double" in words:
        return "long double" if longs else "double"
    if "short" in words:
        return f"{sign}short"
    if longs:
        return f"{sign}{'long ' * longs}".strip()
    return f"{sign}int"


@dataclass(frozen=True)
class CType:
    """A C type as real ABIs spell them: a base type (one or more words: `unsigned long
    long`, `uint64_t`, a handle, a spec-declared type), `const` on the base, and any number of
    pointer levels, each of which may itself be `const` (`const char* const*`). Function
    pointer types are named through `types:` entries of kind `callback`."""

    base: str
    const: bool = False
    pointer: bool = False
    levels: tuple[bool, ...] = ()  # one entry per `*`, True where that pointer is const
    scalar: str = ""  # the scalar a `types:` alias names (`sqlite3_int64` -> `long long`)

    @classmethod
    def parse(cls, text: str) -> CType:
        tokens = _TOKEN_RE.findall(text.strip())
        const = False
        words: list[str] = []
        i = 0
        while i < len(tokens) and tokens[i] != "*":
            tok = tokens[i]
            if tok == "const":
                if const:
                    raise ValueError(f"not a C type of the spec language: {text!r} (const twice)")
                const = True
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok) and tok not in ("volatile", "struct"):
                words.append(tok)
            else:
                raise ValueError(f"not a C type of the spec language: {text!r} "
                                 f"(unexpected {tok!r}; name function pointer types in `types:`)")
            i += 1
        levels: list[bool] = []
        for tok in tokens[i:]:
            if tok == "*":
                levels.append(False)
            elif tok == "const" and levels and not levels[-1]:
                levels[-1] = True
            else:
                raise ValueError(f"not a C type of the spec language: {text!r} (unexpected "
                                 f"{tok!r} after a pointer)")
        if not words:
            raise ValueError(f"not a C type of the spec language: {text!r} (no base type)")
        try:
            base = _canonical_base(words)
        except ValueError as exc:
            raise ValueError(f"not a C type of the spec language: {text!r} ({exc})") from None
        return cls(base=base, const=const, pointer=bool(levels), levels=tuple(levels))

    def __post_init__(self) -> None:
        # CType(base, const, pointer=True) built by hand means one plain pointer level.
        if self.pointer and not self.levels:
            object.__setattr__(self, "levels", (False,))

    @property
    def depth(self) -> int:
        """Number of pointer levels: 0 for `int`, 1 for `sqlite3*`, 2 for `sqlite3**`."""
        return len(self.levels)

    @property
    def c(self) -> str:
        stars = "".join("* const" if c else "*" for c in self.levels)
        text = f"{'const ' if self.const else ''}{self.base}{stars}"
        return text

    @property
    def pointee(self) -> CType:
        """The type one pointer level down (`sqlite3**` -> `sqlite3*`)."""
        if not self.levels:
            raise ValueError(f"{self.c} is not a pointer")
        levels = self.levels[:-1]
        return CType(self.base, self.const, bool(levels), levels, self.scalar)

    def decl(self, name: str) -> str:
        """`int* error_code`, `const char* prompt`, `float temperature`."""
        return f"{self.c} {name}"

    @property
    def is_void(self) -> bool:
        return self.base == "void" and not self.pointer

    @property
    def is_void_pointer(self) -> bool:
        return self.base == "void" and self.depth == 1

    @property
    def is_string(self) -> bool:
        """NUL-terminated text read by the callee (`const char*`, `const unsigned char*`)."""
        return self.base in ("char", "unsigned char") and self.depth == 1 and self.const

    @property
    def is_char_buffer(self) -> bool:
        return self.base == "char" and self.depth == 1 and not self.const

    @property
    def _scalar(self) -> str:
        return self.scalar or self.base

    @property
    def is_integer(self) -> bool:
        return not self.pointer and self._scalar in _C_INT_LIMITS

    @property
    def is_float(self) -> bool:
        return not self.pointer and self._scalar in FLOAT_TYPES

    @property
    def is_bool(self) -> bool:
        return not self.pointer and self._scalar == "bool"

    @property
    def is_scalar_base(self) -> bool:
        return self._scalar in SCALAR_TYPES

    @property
    def int_limits(self) -> tuple[int, int] | None:
        return _C_INT_LIMITS.get(self._scalar) if not self.pointer else None

    @property
    def standard_header(self) -> str | None:
        """The standard header that declares the base type, if any (`stdint.h`)."""
        return STANDARD_HEADERS.get(self.base)

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
        if self.is_void_pointer:
            return "bytes"
        return "int"


@dataclass(frozen=True)
class ErrorCode:
    name: str
    value: int
    key: str
    message: str
    http_status: int | None  # the optional HTTP extension of the error table
    retriable: bool | None
    doc: str
    since: str | None
    python_bases: tuple[str, ...]
    location: Location
    result: bool = False  # a non-error result code (`SQLITE_ROW`), declared `success: true`

    @property
    def is_success(self) -> bool:
        return self.value == 0

    @property
    def is_result(self) -> bool:
        """The code reports success (0) or a non-error result: no exception is raised for it."""
        return self.is_success or self.result

    @property
    def python_exception(self) -> str:
        """`VRAM_OOM` -> `VramOomError`; the Python class raised for this code."""
        return "".join(part.capitalize() for part in self.key.split("_")) + "Error"


@dataclass(frozen=True)
class ErrorTable:
    enum: str | None  # None: the codes are plain integers (macros of the library's header)
    extensible: bool
    doc: str
    codes: tuple[ErrorCode, ...]
    unrecognized_message: str
    header: str | None = None  # the codes exist in this header of the library: not re-emitted
    unknown: str | None = None  # key an unrecognised value reads as (None: no such row)
    violation: str | None = None  # key a broken checked rule reports by default
    location: Location | None = None

    @property
    def emitted(self) -> bool:
        """True when the generated header defines the codes (the enum or macros)."""
        return self.header is None

    @property
    def has_http(self) -> bool:
        """The optional HTTP extension: every code states `http_status` and `retriable`."""
        return bool(self.codes) and all(c.http_status is not None for c in self.codes)

    @property
    def results(self) -> tuple[ErrorCode, ...]:
        return tuple(c for c in self.codes if c.is_result)

    @property
    def failures(self) -> tuple[ErrorCode, ...]:
        return tuple(c for c in self.codes if not c.is_result)

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
    struct_tag: str = ""  # `struct TAG` behind the typedef; defaults to the name
    header: str | None = None  # declared by this header of the library: referenced, not re-emitted

    @property
    def tag(self) -> str:
        return self.struct_tag or self.name

    @property
    def emitted(self) -> bool:
        return self.header is None


@dataclass(frozen=True)
class TypeField:
    name: str
    ctype: CType
    doc: str


@dataclass(frozen=True)
class TypeDecl:
    """A type declared in the spec's `types:`: an enum, a plain struct, or a callback (a
    function-pointer typedef). With `header`, it exists in the library's own header and is
    referenced, not re-emitted."""

    name: str
    kind: str  # "enum" | "struct" | "callback" | "alias"
    doc: str
    location: Location
    header: str | None = None
    values: tuple[AllowedValue, ...] = ()  # enum
    fields: tuple[TypeField, ...] = ()  # struct
    returns: CType | None = None  # callback
    params: tuple[CType, ...] = ()  # callback
    constants: tuple[AllowedValue, ...] = ()  # named special values (SQLITE_TRANSIENT)
    struct_tag: str = ""
    aliased: CType | None = None  # alias: the scalar type it names

    @property
    def emitted(self) -> bool:
        return self.header is None

    @property
    def c_declaration(self) -> str:
        """The C declaration the header emits (without its doc comment)."""
        if self.kind == "alias":
            assert self.aliased is not None
            return f"typedef {self.aliased.c} {self.name};"
        if self.kind == "callback":
            assert self.returns is not None
            params = ", ".join(p.c for p in self.params) or "void"
            return f"typedef {self.returns.c} (*{self.name})({params});"
        tag = self.struct_tag or self.name
        if self.kind == "struct":
            body = "".join(f"    {f.ctype.decl(f.name)};\n" for f in self.fields)
            return f"typedef struct {tag} {{\n{body}}} {self.name};"
        body = ",\n".join(f"    {v.name} = {v.value}" for v in self.values)
        return f"typedef enum {tag} {{\n{body}\n}} {self.name};"


@dataclass(frozen=True)
class ErrorChannel:
    """How a function reports failure, resolved from the interface default and the
    function's own `error_channel:`.

    * `out_param`: an `int*` parameter receives the code (0 = success).
    * `status`: the return value is the code; `success` lists the keys that are not errors
      (`OK`, or `ROW` and `DONE` for a step function).
    * `sentinel`: a special return value (`NULL`, `-1`, `0`) marks failure; `code_from`
      (if any) yields the code, `detail_from` the text.
    * `none`: the function cannot fail.

    `detail_from` names the function that yields the detail text; `scope` says whether it is
    per thread (no argument) or per handle (`detail_handle`: the handle it takes)."""

    kind: str
    param: str | None = None
    success: tuple[str, ...] = ()
    success_values: tuple[int, ...] = ()  # `success` resolved to codes
    sentinel: str | None = None
    code_from: str | None = None
    detail_from: str | None = None
    scope: str = "thread"
    detail_handle: str | None = None

    @property
    def is_out_param(self) -> bool:
        return self.kind == "out_param"

    @property
    def is_status(self) -> bool:
        return self.kind == "status"

    @property
    def is_sentinel(self) -> bool:
        return self.kind == "sentinel"


NO_CHANNEL = ErrorChannel("none")


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
    on_violation: str = ""  # error key a broken checked rule reports ("" none declared)
    len: str | None = None
    utf8: bool = False
    min_bytes: int | None = None
    written: str | None = None
    handle: str | None = None  # the handle type when ctype is `Handle*` (or `Handle**`)
    is_error_out: bool = False
    index: int = 0  # position in the function's parameter list
    checked: bool = True  # False: its rules are preconditions (undefined behaviour if broken)
    on_failure: str | None = None  # out-handles: "valid" (must still be destroyed) or "null"
    null_means: str | None = None  # out-handles: what NULL written on success means
    capacity: int | None = None  # out-buffers: the capacity the bindings allocate
    fixed: str | None = None  # the named constant the bindings always pass
    binding: str = ""  # how the Python bindings treat it (see Spec.binding_kind)
    len_of: str | None = None  # this integer is the length of that buffer parameter
    len_inout: bool = False  # `len` names an in/out length (capacity in, length out)
    violation_declared: bool = False  # on_violation is the parameter's own, not the default

    @property
    def precondition(self) -> bool:
        """Its rules are preconditions: documented and linted, never exercised."""
        return not self.checked and self.has_rules

    @property
    def has_rules(self) -> bool:
        return bool(self.range or self.allowed or self.utf8 or self.min_bytes or
                    (self.is_pointer and not self.nullable))

    @property
    def is_out_handle(self) -> bool:
        """`sqlite3** ppDb`: the function writes a new handle through it."""
        return self.handle is not None and self.ctype.depth == 2 and self.direction == "out"

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

    def impl_type(self, destroyer: bool = False, namespace: str = "") -> str:
        """How the native implementation receives this parameter: handles arrive resolved,
        by reference (a destroyer is only called for a live handle), or by pointer if NULL
        is allowed. `namespace` is the C++ namespace of the native core (targets)."""
        if self.handle is None:
            return self.ctype.c
        ref = "*" if self.nullable and not destroyer else "&"
        return f"::{namespace}::core::object_t<{self.handle}>{ref}"

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
        if (self.range or self.allowed) and self.violation_declared and self.checked:
            parts.append(f"else {self.on_violation}")
        if self.precondition:
            parts.append("precondition: breaking it is undefined behaviour")
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
    null_means: str | None = None  # pointer results: what NULL without an error means


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
    channel: ErrorChannel = NO_CHANNEL  # how it reports failure (resolved)
    cpp_namespace: str = ""      # C++ namespace of the native core (targets), contract-first

    @property
    def created_out(self) -> Param | None:
        """The `Handle**` out-parameter through which it creates its handle, if any."""
        return next((p for p in self.params if p.is_out_handle and p.handle == self.creates), None)

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
        params = ", ".join(f"{p.impl_type(self.destroys is not None, self.cpp_namespace)} {p.name}"
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
        """What a Python caller passes: inputs other than the receiving handle (`self`),
        lengths and capacities (the bindings compute them) and fixed constants."""
        return tuple(p for p in self.params if p.binding in _PYTHON_ARGUMENTS)

    @property
    def python_out_values(self) -> tuple[Param, ...]:
        """Scalar out-parameters the bindings read back: kept as attributes of a created
        handle (`model.vram_bytes_used`), else returned."""
        return tuple(p for p in self.params if p.binding in ("out_value", "inout_value"))

    @property
    def python_buffers(self) -> tuple[Param, ...]:
        """Out-buffers the bindings allocate (text or bytes), sized from the spec."""
        return tuple(p for p in self.params if p.binding in ("text_out", "bytes_out"))

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def capacity_of(self, param: Param) -> int | None:
        """The capacity the bindings allocate for `param` (a buffer or its length)."""
        buffer = next((b for b in self.params if b.name == param.len_of), param)
        return buffer.capacity


_PYTHON_ARGUMENTS = frozenset({"string", "bytes", "int", "float", "bool", "handle", "inout_value"})


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
    derived_includes: tuple[str, ...] = ()  # every include the header needs, in order
    macro_prefix: str = ""  # prefix of the header's own macros (VERSION_*, DEPRECATED)


@dataclass(frozen=True)
class Targets:
    """Where the generated artefacts go and what they are called. Nothing generic names a
    particular interface: every default derives from `interface.name`."""

    mode: str  # "contract_first" | "existing_library"
    python_package: str | None  # None: no Python bindings
    python_dir: str
    python_error_base: str
    native_library: str  # the library's name without lib/.so (`sqlite3`)
    native_soname: str | None  # the file ABI mode dlopen()s (`libsqlite3.so.0`)
    cpp_namespace: str | None  # None: no generated C++ boundary
    cpp_dir: str
    lock_dir: str
    lock_document: str
    lock_baseline: str
    lock_timeline: str
    header_path: str = ""  # interface.header.path
    schema_copy: str = "spec/schema.json"  # the schema, copied next to the spec for editors
    rust_crate: str | None = None  # None: no Rust bindings
    rust_dir: str = ""

    @property
    def contract_first(self) -> bool:
        return self.mode == "contract_first"

    @property
    def library_file(self) -> str:
        """The file ABI-mode bindings open by default (`libsqlite3.so.0`)."""
        return self.native_soname or f"lib{self.native_library}.so"

    @property
    def boundary(self) -> bool:
        """A generated C++ boundary (exports and implementation declarations)."""
        return self.contract_first and self.cpp_namespace is not None


@dataclass(frozen=True)
class Interface:
    name: str
    title: str
    version: str
    c_prefix: str
    doc: str
    header: Header
    error_out_param: str | None
    consumers: tuple[Consumer, ...]
    principles: tuple[str, ...]
    default_channel: ErrorChannel = NO_CHANNEL
    checked: bool = True  # default kind of parameter rules: checked, or preconditions

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
    types: tuple[TypeDecl, ...] = ()
    targets: Targets | None = None

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

    def role(self, role: str) -> Function | None:
        """The function holding `role`, or None: every role is optional."""
        return next((f for f in self.functions if f.role == role), None)

    @cached_property
    def _types_by_name(self) -> dict[str, TypeDecl]:
        return {t.name: t for t in reversed(self.types)}

    def type_decl(self, name: str) -> TypeDecl | None:
        return self._types_by_name.get(name)

    @property
    def emitted_types(self) -> tuple[TypeDecl, ...]:
        return tuple(t for t in self.types if t.emitted)

    @property
    def emitted_handles(self) -> tuple[Handle, ...]:
        return tuple(h for h in self.handles if h.emitted)

    @property
    def macro_prefix(self) -> str:
        """Prefix of the header's own macros (`WORKER_FFI_VERSION_MAJOR`)."""
        return self.interface.header.macro_prefix or self.interface.name.upper()

    def allowed_macro(self, param: Param, value: AllowedValue) -> str:
        """`fault` value DEVICE_LOST -> `CUDA_FAULT_DEVICE_LOST`."""
        return f"{self.interface.c_prefix.upper()}{param.name.upper()}_{value.name}"

    def ancestors(self, handle: str) -> tuple[str, ...]:
        """`handle`, its parent, the parent's parent, ... (stops at a cycle)."""
        chain: list[str] = []
        current: str | None = handle
        while current is not None and current not in chain and current in self._handles_by_name:
            chain.append(current)
            current = self._handles_by_name[current].parent
        return tuple(chain)

    def detail_hops(self, fn: Function) -> int | None:
        """For a per-handle detail channel: how many parents up from `fn`'s receiving handle
        the detail handle is (0: the receiver itself); None when `fn` has no such receiver."""
        target = fn.channel.detail_handle
        receiver = self.python_receiver(fn)
        if target is None or receiver is None:
            return None
        chain = self.ancestors(receiver)
        return chain.index(target) if target in chain else None

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
        """The handle whose Python class carries `fn` (its first handle input); None for
        functions of the library object."""
        return next((p.handle for p in fn.params if p.binding == "receiver"), None)

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

    @property
    def thread_detail(self) -> str | None:
        """The function yielding the per-thread detail text, if the spec has one."""
        role = self.role("last_error_detail")
        if role is not None:
            return role.name
        return next((f.channel.detail_from for f in self.functions
                     if f.channel.detail_from and f.channel.scope == "thread"), None)

    def constant_value(self, param: Param) -> int:
        """The value of the named constant a `fixed` parameter always passes."""
        decl = self.type_decl(param.ctype.base)
        assert decl is not None and param.fixed is not None
        return next(k.value for k in decl.constants if k.name == param.fixed)

    def violation_code(self, param: Param) -> str:
        """The code a broken checked rule reports, as Python source ("None": no code)."""
        if not param.checked or not param.on_violation or param.on_violation not in self.errors.keys:
            return "None"
        return str(self.errors.by_key(param.on_violation).value)

    @staticmethod
    def python_preconditions(param: Param) -> tuple[tuple[str, str], ...]:
        """(condition, message) pairs the bindings test before a call, for the preconditions
        of a Python argument: breaking one would be undefined behaviour in the library."""
        if param.checked or param.binding not in ("int", "float"):
            return ()
        out = []
        if param.range is not None:
            conds = []
            if param.range.min is not None:
                conds.append(f"{param.name} >= {param.range.min!r}")
            if param.range.max is not None:
                conds.append(f"{param.name} <= {param.range.max!r}")
            if conds:
                out.append((" and ".join(conds), repr(
                    f"{param.name} must be {param.range.describe()} (a precondition: the "
                    "library does not check it; breaking it is undefined behaviour)")))
        if param.allowed:
            values = ", ".join(str(a.value) for a in param.allowed)
            out.append((f"{param.name} in ({values},)", repr(
                f"{param.name} must be one of {values} (a precondition: the library does not "
                "check it; breaking it is undefined behaviour)")))
        return tuple(out)

    @staticmethod
    def python_sentinel(fn: Function) -> str:
        """The failure value of a sentinel channel as Python source."""
        value = fn.channel.sentinel or ""
        return {"NULL": "self._NULL", "false": "False", "true": "True"}.get(value, value)

    def python_result_type(self, fn: Function) -> str:
        """The annotation of what the Python method returns."""
        parts: list[str] = []
        if fn.channel.is_status and len(fn.channel.success_values) > 1:
            parts.append("int")
        elif not fn.channel.is_status and not fn.returns.ctype.is_void and \
                not fn.python_out_values and not fn.python_buffers:
            rt = fn.returns.ctype
            if rt.depth == 1 and rt.const and rt.base == "unsigned char":
                return "str | None" if fn.returns.nullable else "str"
            return rt.python_type
        parts += [p.ctype.pointee.python_type for p in fn.python_out_values]
        parts += ["str" if p.binding == "text_out" else "bytes" for p in fn.python_buffers]
        if not parts:
            return "None"
        return parts[0] if len(parts) == 1 else f"tuple[{', '.join(parts)}]"

    def python_stream(self, handle: str) -> Function | None:
        """The function that makes `handle` iterable: a bool-returning method of it that
        writes a text buffer (`for piece in inference`)."""
        return next((f for f in self.python_methods(handle)
                     if f.returns.ctype.is_bool and any(p.ctype.is_char_buffer for p in f.params)),
                    None)
