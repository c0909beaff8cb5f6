"""Parameters and results: directions, when out-parameters are written, types, lengths, ranges,
allowed values, string rules, error results and ownership of returned pointers."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from generator.lints.common import fpath, known_type, ppath, problem, suggest
from generator.model import Function, Param, Spec
from generator.problems import Problem


def parameters(spec: Spec) -> Iterator[Problem]:
    for fn in spec.functions:
        by_name = {p.name: p for p in fn.params}
        for p in fn.params:
            if p.direction in ("out", "inout") and not p.is_pointer:
                yield problem("LINT-out-not-pointer", f"{fn.name}.{p.name} is an out-parameter "
                              f"of non-pointer type {p.ctype.c}", p.location,
                              ppath(spec, fn, p, "type"), f"use `{p.ctype.c}*`")
            if p.direction == "out" and p.is_pointer and p.written is None:
                yield problem("LINT-out-written", f"{fn.name}.{p.name}: out-parameter does not "
                              "say when it is written", p.location, ppath(spec, fn, p),
                              "add `written: always | on_success | when_true`")
            if p.written is not None and p.direction == "in":
                yield problem("LINT-out-written", f"{fn.name}.{p.name}: `written` applies only "
                              "to out-parameters", p.location, ppath(spec, fn, p, "written"),
                              "remove it or set direction: out")
            if p.written == "when_true" and not fn.returns.ctype.is_bool:
                yield problem("LINT-out-written", f"{fn.name}.{p.name}: `written: when_true` "
                              "needs a bool result", p.location, ppath(spec, fn, p, "written"),
                              "use on_success")
            if p.nullable and not p.is_pointer:
                yield problem("LINT-nullable-scalar", f"{fn.name}.{p.name} is nullable but not "
                              "a pointer", p.location, ppath(spec, fn, p, "nullable"),
                              "remove `nullable`")
            if not known_type(spec, p.ctype):
                yield problem("LINT-unknown-type", f"{fn.name}.{p.name}: unknown type "
                              f"{p.ctype.c}", p.location, ppath(spec, fn, p, "type"),
                              "use a C scalar type, a declared handle, or declare the type "
                              "under `types:`")
            if p.len is not None:
                target = by_name.get(p.len)
                if target is None:
                    yield problem("LINT-len-unknown", f"{fn.name}.{p.name}: len names unknown "
                                  f"parameter {p.len!r}", p.location, ppath(spec, fn, p, "len"),
                                  suggest(p.len, by_name))
                elif not (target.ctype.is_integer or (target.ctype.depth == 1 and
                                                      target.direction == "inout" and
                                                      target.ctype.pointee.is_integer)):
                    yield problem("LINT-len-not-integer", f"{fn.name}.{p.name}: len parameter "
                                  f"{p.len} has type {target.ctype.c}", p.location,
                                  ppath(spec, fn, p, "len"), "a length must be an integer")
            yield from _range_fits(spec, fn, p)
            if (p.utf8 or p.min_bytes) and not p.ctype.is_string:
                yield problem("LINT-string-rule-type", f"{fn.name}.{p.name}: string rules on "
                              f"non-string type {p.ctype.c}", p.location,
                              ppath(spec, fn, p, "string"), "use `const char*`")


def _range_fits(spec: Spec, fn: Function, p: Param) -> Iterator[Problem]:
    if p.range is None and not p.allowed:
        return
    loc, path = p.location, ppath(spec, fn, p, "range")
    if p.range is not None:
        if not (p.ctype.is_integer or p.ctype.is_float):
            yield problem("LINT-range-type", f"{fn.name}.{p.name}: a range on non-numeric type "
                          f"{p.ctype.c}", loc, path, "ranges apply to integers and floats")
            return
        lo, hi = p.range.min, p.range.max
        limits = p.ctype.int_limits
        for bound in (lo, hi):
            if bound is None:
                continue
            if limits and (bound < limits[0] or bound > limits[1] or bound != int(bound)):
                yield problem("LINT-range-type", f"{fn.name}.{p.name}: bound {bound} does not "
                              f"fit {p.ctype.c} [{limits[0]}, {limits[1]}]", loc, path,
                              "use a bound the C type can hold")
            if isinstance(bound, float) and not math.isfinite(bound):
                yield problem("LINT-range-type", f"{fn.name}.{p.name}: bound {bound} is not "
                              "finite", loc, path, "omit the bound instead")
        if lo is not None and hi is not None and lo > hi:
            yield problem("LINT-range-empty", f"{fn.name}.{p.name}: min {lo} > max {hi}", loc,
                          path, "swap or fix the bounds")
        if p.range.finite and not p.ctype.is_float:
            yield problem("LINT-range-type", f"{fn.name}.{p.name}: `finite` applies to "
                          "floating-point types", loc, path, "remove `finite`")
        if p.ctype.is_float and not p.range.finite:
            yield problem("LINT-range-type", f"{fn.name}.{p.name}: a float range must say "
                          "whether NaN and infinities are rejected", loc, path,
                          "add `finite: true`")
    values = [a.value for a in p.allowed]
    if len(set(values)) != len(values):
        yield problem("LINT-duplicate-name", f"{fn.name}.{p.name}: allowed values repeat",
                      loc, ppath(spec, fn, p, "allowed"), "list each value once")
    if p.allowed and not p.ctype.is_integer:
        yield problem("LINT-range-type", f"{fn.name}.{p.name}: allowed values on non-integer "
                      f"type {p.ctype.c}", loc, ppath(spec, fn, p, "allowed"),
                      "allowed values apply to integers")


def returns(spec: Spec) -> Iterator[Problem]:
    for fn in spec.functions:
        r = fn.returns
        path = fpath(spec, fn, "returns")
        if r.ctype.is_bool and fn.channel.kind == "out_param" and not r.false_means:
            yield problem("LINT-bool-ambiguous", f"{fn.name} returns bool but does not say what "
                          "false with code 0 means", fn.location, path, "add `false_means:`")
        if fn.fallible and not r.ctype.is_void and r.on_error is None and \
                fn.channel.kind not in ("status", "sentinel"):
            yield problem("LINT-on-error-missing", f"{fn.name} can fail but does not say what it "
                          "returns on error", fn.location, path, "add `on_error:` (NULL, false, 0)")
        if r.on_error is not None:
            ok = (r.ctype.pointer and r.on_error == "NULL") or \
                 (r.ctype.is_bool and r.on_error in ("false", "true")) or \
                 ((r.ctype.is_integer or r.ctype.is_float) and _is_number(r.on_error))
            if not ok:
                yield problem("LINT-on-error-type", f"{fn.name}: on_error {r.on_error!r} does not "
                              f"fit return type {r.ctype.c}", fn.location, (*path, "on_error"),
                              "use NULL for pointers, false for bool, a number for integers")
        if r.ctype.pointer and r.on_error == "NULL" and not r.nullable:
            yield problem("LINT-on-error-type", f"{fn.name} returns NULL on error but its result "
                          "is not marked nullable", fn.location, path, "set `nullable: true`")
        if r.values:
            numbers = [v.value for v in r.values]
            if not r.ctype.is_integer:
                yield problem("LINT-range-type", f"{fn.name}: result values on non-integer type "
                              f"{r.ctype.c}", fn.location, (*path, "values"),
                              "result values apply to integers")
            if len(set(numbers)) != len(numbers) or len({v.name for v in r.values}) != len(numbers):
                yield problem("LINT-duplicate-name", f"{fn.name}: result values repeat a value or "
                              "a name", fn.location, (*path, "values"), "list each value once")
            if r.on_error is not None and _is_number(r.on_error) and float(r.on_error) in numbers:
                yield problem("LINT-on-error-type", f"{fn.name}: the error result {r.on_error} is "
                              "also a success value", fn.location, (*path, "on_error"),
                              "pick an error result outside the success values")
        if r.ctype.pointer and r.ownership is None:
            yield problem("LINT-ownership-missing", f"{fn.name} returns a pointer without saying "
                          "who owns it", fn.location, path,
                          "set returns.ownership: borrowed | transferred | static")


# A number as C source writes it and as float() reads it the same way: no `nan`, `inf`,
# digit separators (`1_0`), surrounding spaces or hexadecimal.
_C_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _is_number(text: str) -> bool:
    return isinstance(text, str) and _C_NUMBER.fullmatch(text) is not None
