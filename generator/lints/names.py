"""Names: declared once, prefixed, not a keyword of a generated language; aliases point at
functions with the same signature; versions and groups exist."""

from __future__ import annotations

import keyword
from collections.abc import Iterator

from generator.lints.common import fpath, ppath, problem, suggest
from generator.model import Function, Spec
from generator.problems import Location, Problem


def duplicate_names(spec: Spec) -> Iterator[Problem]:
    seen: dict[str, Location] = {}
    for i, fn in enumerate(spec.functions):
        if fn.name in seen:
            yield problem("LINT-duplicate-name", f"function {fn.name!r} is declared twice "
                          f"(first at {seen[fn.name]})", fn.location, ("functions", i, "name"),
                          "remove one declaration, or mark a compatible duplicate with alias_of")
        seen.setdefault(fn.name, fn.location)
        names: set[str] = set()
        for p in fn.params:
            if p.name in names:
                yield problem("LINT-duplicate-name", f"parameter {p.name!r} appears twice in "
                              f"{fn.name}", p.location, ppath(spec, fn, p, "name"),
                              "rename one of the parameters")
            names.add(p.name)
    hseen: set[str] = set()
    for i, h in enumerate(spec.handles):
        if h.name in hseen:
            yield problem("LINT-duplicate-name", f"handle {h.name!r} is declared twice",
                          h.location, ("handles", i, "name"), "remove one declaration")
        hseen.add(h.name)
    for attr in ("name", "key"):
        cseen: set[str] = set()
        for i, c in enumerate(spec.errors.codes):
            v = getattr(c, attr)
            if v in cseen:
                yield problem("LINT-duplicate-name", f"error {attr} {v!r} is used twice",
                              c.location, ("errors", "codes", i, attr),
                              "every error code needs a unique C name and string key")
            cseen.add(v)


def unaliased_duplicates(spec: Spec) -> Iterator[Problem]:
    by_meaning: dict[tuple[tuple[str, ...], str], Function] = {}
    for fn in spec.functions:
        key = (fn.signature_key, " ".join(fn.doc.lower().split()))
        first = by_meaning.get(key)
        if first is not None and fn.alias_of != first.name and first.alias_of != fn.name:
            yield problem("LINT-unmarked-alias", f"{fn.name} has the signature and meaning of "
                          f"{first.name} but is not marked as its alias", fn.location,
                          fpath(spec, fn, "name"),
                          f"add `alias_of: {first.name}` and a deprecation, or remove it")
        by_meaning.setdefault(key, fn)


def aliases(spec: Spec) -> Iterator[Problem]:
    names = {f.name: f for f in spec.functions}
    for fn in spec.functions:
        if fn.alias_of is None:
            continue
        target = names.get(fn.alias_of)
        if target is None:
            yield problem("LINT-dangling-reference", f"{fn.name}: alias_of names unknown "
                          f"function {fn.alias_of!r}", fn.location, fpath(spec, fn, "alias_of"),
                          suggest(fn.alias_of, names))
        elif target.signature_key != fn.signature_key:
            yield problem("LINT-alias-signature", f"{fn.name} is an alias of {target.name} but "
                          "their signatures differ", fn.location, fpath(spec, fn, "alias_of"),
                          "an alias must have the same parameter and return types")
        if fn.deprecated and fn.deprecated.replacement and fn.deprecated.replacement not in names:
            yield problem("LINT-dangling-reference", f"{fn.name}: deprecated.replacement names "
                          f"unknown function {fn.deprecated.replacement!r}", fn.location,
                          fpath(spec, fn, "deprecated", "replacement"),
                          suggest(fn.deprecated.replacement, names))


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def versions_and_groups(spec: Spec) -> Iterator[Problem]:
    current = _semver(spec.interface.version)
    groups = {g.name for g in spec.groups}
    for fn in spec.functions:
        if _semver(fn.since) > current:
            yield problem("LINT-since-after-version", f"{fn.name} is `since: {fn.since}`, after "
                          f"the interface version {spec.interface.version}", fn.location,
                          fpath(spec, fn, "since"), "bump interface.version or fix `since`")
        if fn.group not in groups:
            yield problem("LINT-dangling-reference", f"{fn.name}: unknown group {fn.group!r}",
                          fn.location, fpath(spec, fn, "group"), suggest(fn.group, groups))
        if not fn.name.startswith(spec.interface.c_prefix):
            yield problem("LINT-prefix", f"{fn.name} does not start with the C prefix "
                          f"{spec.interface.c_prefix!r}", fn.location, fpath(spec, fn, "name"),
                          f"rename it {spec.interface.c_prefix}{fn.name}")
    first_with: dict[str, Function] = {}
    for fn in spec.functions:
        if not fn.role:
            continue
        first = first_with.setdefault(fn.role, fn)
        if first is not fn:
            yield problem("LINT-duplicate-name", f"role {fn.role!r} is given to {fn.name} and "
                          f"to {first.name}", fn.location, fpath(spec, fn, "role"),
                          f"one function per role: remove it from {fn.name} or {first.name}")


# Words no generated language lets a name be. C and C++ keywords (a name is a C identifier in
# the header and a C++ one in the boundary), and Python keywords and builtins the bindings
# would shadow for parameter names (Python parameters). Rust keywords are escaped by the Rust
# bindings (`r#type`), so they need no rule.
_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic "
    "_Imaginary _Noreturn _Static_assert _Thread_local bool true false NULL".split())


_CPP_KEYWORDS = frozenset(
    "alignas alignof and and_eq asm bitand bitor catch char8_t char16_t char32_t class compl "
    "concept consteval constexpr constinit const_cast co_await co_return co_yield decltype "
    "delete dynamic_cast explicit export friend mutable namespace new noexcept not not_eq "
    "nullptr operator or or_eq private protected public reinterpret_cast requires "
    "static_assert static_cast template this thread_local throw try typeid typename using "
    "virtual wchar_t xor xor_eq".split())


_PYTHON_KEYWORDS = frozenset(keyword.kwlist) | {"self", "cls"}


def reserved_names(spec: Spec) -> Iterator[Problem]:
    """A name that is a keyword of a language it lands in breaks that artefact."""
    c_words = _C_KEYWORDS | _CPP_KEYWORDS

    def check(name: str, path: tuple[str | int, ...], loc: Location, what: str,
              python: bool = False) -> Iterator[Problem]:
        langs = (["C/C++"] if name in c_words else []) + \
                (["Python"] if python and name in _PYTHON_KEYWORDS else [])
        if langs:
            yield problem("LINT-reserved-name", f"{what} {name!r} is a keyword in "
                          f"{' and '.join(langs)}", loc, path, f"rename it, e.g. {name}_")

    for fn in spec.functions:
        yield from check(fn.name, fpath(spec, fn, "name"), fn.location, "function")
        for p in fn.params:
            yield from check(p.name, ppath(spec, fn, p, "name"), p.location, "parameter",
                             python=True)
    for i, h in enumerate(spec.handles):
        yield from check(h.name, ("handles", i, "name"), h.location, "handle")
    for i, c in enumerate(spec.errors.codes):
        yield from check(c.name, ("errors", "codes", i, "name"), c.location, "error code")
    if spec.errors.enum:
        where = spec.errors.location or Location(spec.source, 1, 1)
        yield from check(spec.errors.enum, ("errors", "enum"), where, "enum")
