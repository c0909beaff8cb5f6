"""Negative inputs derived from the spec: each one breaks exactly one rule of one parameter.

A case says which function, which parameter, which value (symbolically, so the same case runs
against any library and prints a readable replay), which rule it checks and which code the
spec says comes back. Hypothesis strategies for "anything outside" each rule live here too.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.calls import NULL
from generator.model import Function, Param, Spec

FORGED_LABELS = ("address", "small", "high")


def default_violation(spec: Spec) -> str | None:
    """The key a broken checked rule reports when the rule names none (None: any failure)."""
    declared = getattr(spec.errors, "violation", None)
    if declared:
        return declared
    return Param.__dataclass_fields__["on_violation"].default or None


def rule_violation(spec: Spec, p: Param) -> str | None:
    """The key breaking `p`'s range or allowed rule reports."""
    return p.on_violation or default_violation(spec)


def checked(p: Param) -> bool:
    """Rules that are preconditions (undefined behaviour when broken) are never exercised."""
    return getattr(p, "checked", True)

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# Strings that are not valid UTF-8: a stray continuation byte, an overlong encoding, a UTF-16
# surrogate, a truncated 3-byte sequence, a code point above U+10FFFF.
BAD_UTF8 = (b"\xa5", b"ab\xc0\xaf", b"\xed\xa0\x80", b"abc\xe2\x82", b"\xf4\x90\x80\x80")


@dataclass(frozen=True)
class Case:
    fn: str
    param: str
    label: str   # what is wrong, for the test ID
    value: Any   # a plain value, NULL, or a symbolic handle ("stale", "forged:N")
    rule: str
    expect: str | None  # the error key the spec says comes back (None: any declared failure)

    @property
    def id(self) -> str:
        return f"{self.fn}-{self.param}-{self.label}"


def _f32_next(x: float, up: bool) -> float:
    """The neighbouring float32 of x (just outside a float range)."""
    bits = struct.unpack("<i", struct.pack("<f", x))[0]
    if x == 0.0:
        return struct.unpack("<f", struct.pack("<i", 1))[0] * (1 if up else -1)
    step = 1 if (x > 0) == up else -1
    return struct.unpack("<f", struct.pack("<i", bits + step))[0]


def outside_values(p: Param) -> list[tuple[str, Any]]:
    """Just outside and far outside each bound; NaN and infinities for finite floats."""
    out: list[tuple[str, Any]] = []
    r = p.range
    if r is not None and p.ctype.is_integer:
        lo_lim, hi_lim = p.ctype.int_limits
        if r.min is not None and r.min > lo_lim:
            out += [("below-min", int(r.min) - 1), ("far-below-min", lo_lim)]
        if r.max is not None and r.max < hi_lim:
            out += [("above-max", int(r.max) + 1), ("far-above-max", hi_lim)]
    if r is not None and p.ctype.is_float:
        if r.min is not None:
            out += [("below-min", _f32_next(float(r.min), up=False)), ("far-below-min", -1e30)]
        if r.max is not None:
            out += [("above-max", _f32_next(float(r.max), up=True)), ("far-above-max", 1e30)]
        if r.finite:
            out += [("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf)]
    if p.allowed:
        values = sorted(a.value for a in p.allowed)
        out += [("below-allowed", values[0] - 1), ("above-allowed", values[-1] + 1),
                ("far-outside-allowed", INT_MAX), ("far-below-allowed", INT_MIN)]
        gaps = [v for v in range(values[0], values[-1]) if v not in values]
        out += [("gap-in-allowed", gaps[0])] if gaps else []
    return out


def cases_for(spec: Spec) -> list[Case]:
    cases: list[Case] = []
    for fn in spec.functions:
        for p in fn.params:
            if p.is_error_out or p.direction == "out" and p.nullable or not checked(p):
                continue
            cases += _param_cases(spec, fn, p)
    return cases


def _forged_values(spec: Spec, p: Param) -> list[tuple[str, str]]:
    """Symbolic forged values (World.resolve makes them concrete)."""
    out = [(f"forged-{label}", f"forged:{label}") for label in FORGED_LABELS]
    out += [(f"wrong-type-{h.name}", f"forged:type:{h.name}") for h in spec.handles
            if h.name != p.handle]
    return out


def _param_cases(spec: Spec, fn: Function, p: Param) -> list[Case]:
    pid = f"FN-{fn.name}-{p.name}"
    out: list[Case] = []
    key = default_violation(spec)
    if p.handle and fn.destroys:
        rule = f"HANDLE-{fn.destroys}-destroy-noop"
        for label, value in [("null", NULL), ("stale", "stale"), *_forged_values(spec, p)]:
            out.append(Case(fn.name, p.name, label, value, rule, "OK"))
        return out
    if p.handle:
        if not p.nullable:
            out.append(Case(fn.name, p.name, "null", NULL, f"{pid}-nullable", key))
        out.append(Case(fn.name, p.name, "stale", "stale", f"{pid}-handle", key))
        for label, value in _forged_values(spec, p):
            out.append(Case(fn.name, p.name, label, value, f"{pid}-handle", key))
        return out
    if p.is_pointer and not p.nullable:
        out.append(Case(fn.name, p.name, "null", NULL, f"{pid}-nullable", key))
    if p.utf8:
        for i, bad in enumerate(BAD_UTF8):
            out.append(Case(fn.name, p.name, f"bad-utf8-{i}", bad, f"{pid}-string", key))
    if p.min_bytes:
        out.append(Case(fn.name, p.name, "too-short", b"", f"{pid}-string", key))
    kind = "range" if p.range is not None else "allowed"
    for label, value in outside_values(p):
        out.append(Case(fn.name, p.name, label, value, f"{pid}-{kind}", rule_violation(spec, p)))
    return out


def outside_strategy(p: Param) -> st.SearchStrategy[Any]:
    """Any value of the parameter's C type that breaks its range or allowed rule."""
    if p.ctype.is_float:
        r = p.range
        parts = [st.floats(allow_nan=True, allow_infinity=True, width=32).filter(
            lambda x: not math.isfinite(x))] if r.finite else []
        if r.min is not None:
            parts.append(st.floats(max_value=float(r.min), exclude_max=True, width=32,
                                   allow_infinity=not r.finite))
        if r.max is not None:
            parts.append(st.floats(min_value=float(r.max), exclude_min=True, width=32,
                                   allow_infinity=not r.finite))
        return st.one_of(*parts)
    lo_lim, hi_lim = p.ctype.int_limits
    if p.allowed:
        values = {a.value for a in p.allowed}
        return st.integers(lo_lim, hi_lim).filter(lambda v: v not in values)
    r = p.range
    parts = []
    if r.min is not None and r.min > lo_lim:
        parts.append(st.integers(lo_lim, int(r.min) - 1))
    if r.max is not None and r.max < hi_lim:
        parts.append(st.integers(int(r.max) + 1, hi_lim))
    return st.one_of(*parts)


def inside_strategy(p: Param) -> st.SearchStrategy[Any]:
    """Values the rule accepts (used to check a check is not stricter than the spec)."""
    if p.allowed:
        return st.sampled_from([a.value for a in p.allowed])
    r = p.range
    if p.ctype.is_float:
        return st.floats(min_value=float(r.min) if r.min is not None else None,
                         max_value=float(r.max) if r.max is not None else None,
                         allow_nan=False, allow_infinity=False, width=32)
    lo_lim, hi_lim = p.ctype.int_limits
    lo = int(r.min) if r.min is not None else lo_lim
    hi = int(r.max) if r.max is not None else hi_lim
    return st.integers(lo, hi)


def ruled_params(spec: Spec) -> list[tuple[Function, Param]]:
    return [(fn, p) for fn in spec.functions for p in fn.params
            if (p.range is not None or p.allowed) and not p.is_error_out and checked(p)]
