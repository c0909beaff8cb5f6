"""A function of the interface: parameters, result, errors, thread safety and deprecation, with
the C and C++ declarations and the Python views derived from them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from generator.model.ctype import CType
from generator.model.errors import NO_CHANNEL, ErrorChannel
from generator.model.params import Param
from generator.model.types import AllowedValue
from generator.problems import Location
from generator.roles import GENERATED_ROLES


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

    @cached_property
    def c_params(self) -> str:
        return ", ".join(p.ctype.decl(p.name) for p in self.params) or "void"

    @cached_property
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
        """True when the generator writes the whole native body (generated roles) or forwards
        (aliases); a testing-hook role is implemented by hand like any other function."""
        return self.role in GENERATED_ROLES or self.alias_of is not None

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
