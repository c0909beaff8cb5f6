"""The spec agrees with the headers it includes. The generated header includes them, so a
function it declares differently from them (a parameter dropped, a type changed), a type or
handle the spec says they declare that they do not, or an alias or callback type they define
differently, makes a header that does not compile; this lint says so at the spec's line, with
the header's declaration and its location.

Only specs that include a header beyond the C standard library's are checked (the
preprocessor runs once per spec, its reading cached per user). When the headers cannot be read
here (not installed, no C compiler), nothing is reported and `ffispec lint` says the check did
not run and why."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lints.common import fpath, ppath, problem
from generator.lints.included import Declaration, Declared, Unchecked, declare, included, of_ctype
from generator.model import STANDARD_HEADERS, CType, Function, Spec, TypeDecl
from generator.problems import Problem

RULE = "LINT-declaration-conflict"
# Headers of the C standard library (and POSIX's sys/types.h), which need no check.
_STANDARD = frozenset({*STANDARD_HEADERS.values(), "stdarg.h", "limits.h", "stdio.h", "stdlib.h",
                       "string.h", "inttypes.h", "float.h", "wchar.h", "uchar.h"})


def library_includes(spec: Spec) -> tuple[str, ...]:
    """The headers the generated header includes, when one of them is not a standard one."""
    header = spec.interface.header
    includes = header.derived_includes or header.includes
    if all(h in _STANDARD for h in includes):
        return ()
    return tuple(includes)


def reading(spec: Spec) -> Declared | Unchecked | None:
    """What the spec's library headers declare (None: the spec includes none)."""
    includes = library_includes(spec)
    if not includes:
        return None
    return included(includes)


def unchecked_note(spec: Spec) -> str | None:
    """Why the spec was not checked against its headers, when it should have been."""
    found = reading(spec)
    if isinstance(found, Unchecked):
        return (f"declarations not checked against <{'>, <'.join(library_includes(spec))}>: "
                f"{found.reason}")
    return None


def declarations(spec: Spec) -> Iterator[Problem]:
    found = reading(spec)
    if not isinstance(found, Declared):
        return
    shown = f"<{'>, <'.join(found.headers)}>"
    hint = (f"declare it as {shown} does: the generated header includes {shown}, and two "
            "different declarations of one name do not compile")
    for fn in spec.functions:
        theirs = found.functions.get(fn.name)
        if theirs is None:
            continue
        yield from _function(spec, fn, theirs, found, shown, hint)
    for i, h in enumerate(spec.handles):
        if h.header is None:
            continue
        theirs = found.typedefs.get(h.name)
        if theirs is None:
            yield problem(RULE, f"handle {h.name} is declared by <{h.header}>, the spec says, but "
                          f"{shown} declare no type {h.name}", h.location, ("handles", i, "name"),
                          f"name the handle as {shown} do, or set `header:` to the header that "
                          "declares it")
        elif theirs.canon != ["b", False, f"struct {h.tag}"]:
            yield problem(RULE, f"handle {h.name} is `typedef struct {h.tag} {h.name};` here but "
                          f"{theirs.where} declares `{theirs.text}`", h.location,
                          ("handles", i, "name"), "set `struct_tag:` to the header's struct tag, "
                          "or describe the type under `types:`")
    for i, t in enumerate(spec.types):
        if t.header is None:
            continue
        theirs = found.typedefs.get(t.name)
        if theirs is None:
            yield problem(RULE, f"type {t.name} is declared by <{t.header}>, the spec says, but "
                          f"{shown} declare no type {t.name}", t.location, ("types", i, "name"),
                          f"name the type as {shown} do, or drop `header:` so the generated "
                          "header declares it")
            continue
        mine = _type_decl(t, found)
        if mine is not None and mine != theirs.canon:
            resolved = f"typedef {declare(theirs.canon, t.name)};"
            means = f", that is `{resolved}`" if resolved != theirs.text else ""
            yield problem(RULE, f"type {t.name} is `{t.c_declaration}` here but {theirs.where} "
                          f"declares `{theirs.text}`{means}", t.location, ("types", i, "name"),
                          f"describe it as {shown} declares it: the bindings are built from the "
                          "spec's description, not from the header")


def _function(spec: Spec, fn: Function, theirs: Declaration, found: Declared, shown: str,
              hint: str) -> Iterator[Problem]:
    _, their_returns, their_params, variadic = theirs.canon
    at = f"{theirs.where} declares `{theirs.text}`"
    if variadic:
        yield problem(RULE, f"{fn.name} takes a variable argument list (`...`) in {shown}; the "
                      f"spec language cannot declare it ({at})", fn.location, fpath(spec, fn),
                      "describe a fixed-argument variant of the function instead")
        return
    if len(their_params) != len(fn.params):
        yield problem(RULE, f"{fn.name} takes {len(fn.params)} parameter(s) here and "
                      f"{len(their_params)} in {shown}: {at}", fn.location,
                      fpath(spec, fn, "params"), hint)
        return
    if _canon(fn.returns.ctype, found) != their_returns:
        yield problem(RULE, f"{fn.name} returns `{fn.returns.ctype.c}` here and "
                      f"`{declare(their_returns)}` in {shown}: {at}", fn.location,
                      fpath(spec, fn, "returns"), hint)
    for p, their in zip(fn.params, their_params, strict=True):
        if _canon(p.ctype, found) != their:
            yield problem(RULE, f"parameter {p.name} of {fn.name} is `{p.ctype.c}` here and "
                          f"`{declare(their)}` in {shown}: {at}", fn.location,
                          ppath(spec, fn, p, "type"), hint)


def _canon(ctype: CType, found: Declared) -> list[object]:
    return of_ctype(ctype.base, ctype.const, ctype.levels, found)


def _type_decl(t: TypeDecl, found: Declared) -> list[object] | None:
    """The canonical type a `types:` entry says the header declares (None: a struct or enum,
    whose layout the spec describes field by field and the header owns)."""
    if t.kind == "alias" and t.aliased is not None:
        return _canon(t.aliased, found)
    if t.kind == "callback" and t.returns is not None:
        return ["p", False, ["f", _canon(t.returns, found), [_canon(p, found) for p in t.params],
                             False]]
    return None
