"""What every lint module shares: the lint signature, spec paths of functions and parameters,
the finding itself, and the "did you mean" hint."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator

from generator.lints.rules import LINT_RULES
from generator.model import CType, Function, Param, Spec
from generator.problems import Location, Problem

Lint = Callable[[Spec], Iterator[Problem]]


def fpath(spec: Spec, fn: Function, *rest: str | int) -> tuple[str | int, ...]:
    del spec
    return ("functions", fn.index, *rest)


def ppath(spec: Spec, fn: Function, p: Param, *rest: str | int) -> tuple[str | int, ...]:
    return fpath(spec, fn, "params", p.index, *rest)


def problem(rule: str, msg: str, loc: Location, path: tuple[str | int, ...], hint: str) -> Problem:
    if rule not in LINT_RULES:
        raise KeyError(f"{rule} is not in the lint rule catalogue (generator/lints/rules.py)")
    return Problem(rule, msg, loc, path, hint)


def suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else "check the spelling"


def own_channel(spec: Spec, fn: Function) -> bool:
    return bool(spec.locations) and ("functions", fn.index, "error_channel") in spec.locations


def known_type(spec: Spec, ctype: CType) -> bool:
    return ctype.is_scalar_base or spec.has_handle(ctype.base) or \
        spec.type_decl(ctype.base) is not None
