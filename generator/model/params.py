"""A function parameter: its C type, direction, ownership and checked rules (range, allowed
values, string rules, lengths), plus what the bindings derive from them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from generator.model.ctype import CType
from generator.model.types import AllowedValue
from generator.problems import Location


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

    @cached_property
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
