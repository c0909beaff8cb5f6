"""How the Python bindings treat each parameter, decided once per function (`binding_kind`)."""

from __future__ import annotations

from generator.model import Function, Param
from generator.normalise.functions import complete

# Capacity of an out-buffer whose spec gives a length relation but no `capacity:`
# (targets.python.buffer_capacity overrides it for a whole spec).
DEFAULT_CAPACITY = 256


def with_bindings(fn: Function, kinds: dict[str, str], capacity: int) -> Function:
    """How the Python bindings treat each parameter, decided once (see `binding_kind`);
    out-buffers without a declared capacity get the spec's default. `kinds`: the kind of each
    declared type, by name."""
    receiver = next((p.name for p in fn.params if p.handle and p.ctype.depth == 1
                     and p.direction == "in"), None)
    by_name = {p.name: p for p in fn.params}
    for p in fn.params:
        kind = binding_kind(fn, p, receiver, by_name, kinds)
        size = p.capacity if p.capacity or kind not in ("text_out", "bytes_out") else capacity
        complete(p, binding=kind, capacity=size)
    return fn


def binding_kind(fn: Function, p: Param, receiver: str | None, by_name: dict[str, Param],
                 kinds: dict[str, str]) -> str:
    """receiver (self), handle (another handle object), error_out, out_handle, capacity
    (the bindings' buffer size), length (of an input buffer), length_inout, text_out,
    bytes_out, string, bytes, int, float, bool, out_value (a scalar result kept by the
    bindings), inout_value (a scalar passed in and read back), null (an optional
    out-parameter passed as NULL), fixed (a named constant), or unsupported (no Python
    rendering yet)."""
    t = p.ctype
    base_kind = kinds.get(t.base)
    if p.name == receiver:
        return "receiver"
    if p.is_error_out:
        return "error_out"
    if p.fixed is not None:
        return "fixed"
    if p.is_out_handle:
        return "out_handle"
    if p.len_of is not None:
        buffer = by_name[p.len_of]
        if p.ctype.pointer:
            return "length_inout"
        return "capacity" if buffer.direction == "out" else "length"
    if p.handle is not None and t.depth == 1 and p.direction == "in":
        return "handle"
    if p.direction in ("out", "inout") and t.depth == 1 and (p.capacity or p.len) and \
            not p.nullable:
        if t.base == "char":
            return "text_out"
        if t.base in ("void", "unsigned char", "uint8_t", "int8_t", "signed char"):
            return "bytes_out"
        return "unsupported"
    if p.direction == "out" and p.nullable:
        return "null"
    if p.direction == "in" and t.is_string:
        return "string"
    if p.direction == "in" and t.depth == 1 and t.const and p.len is not None and \
            t.base in ("void", "unsigned char", "uint8_t", "char"):
        return "bytes"
    if p.direction == "in" and base_kind == "enum" and t.depth == 0:
        return "int"
    if p.direction == "in" and t.depth == 0:
        if t.is_integer:
            return "int"
        if t.is_float:
            return "float"
        if t.is_bool:
            return "bool"
    if p.direction in ("out", "inout") and t.depth == 1 and not t.const and (
            t.pointee.is_integer or t.pointee.is_float or t.pointee.is_bool or base_kind == "enum"):
        return "out_value" if p.direction == "out" else "inout_value"
    return "unsupported"
