"""Declared types are well formed, the HTTP extension of the error table is all or nothing,
fixed parameters name constants, and the targets a spec asks for can render what it uses."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lints.common import fpath, known_type, own_channel, ppath, problem
from generator.model import Spec
from generator.problems import Problem


def types_and_targets(spec: Spec) -> Iterator[Problem]:
    """Declared types are well formed, and every feature the spec uses can be rendered by the
    targets it asks for (Python bindings: no free callbacks, no structs by value)."""
    seen: set[str] = set()
    for i, t in enumerate(spec.types):
        path = ("types", i)
        if t.name in seen or t.name in {h.name for h in spec.handles}:
            yield problem("LINT-duplicate-name", f"type {t.name!r} is declared twice",
                          t.location, (*path, "name"), "remove one declaration")
        seen.add(t.name)
        needs = {"enum": "values", "struct": "fields", "callback": "returns",
                 "alias": "aliased"}[t.kind]
        if not getattr(t, needs):
            needs = "type" if needs == "aliased" else needs
            yield problem("LINT-type-shape", f"type {t.name} of kind {t.kind} needs `{needs}:`",
                          t.location, path, f"add {needs}, or change the kind")
        for other in ("values", "fields", "returns", "params", "aliased"):
            if other != needs and getattr(t, other) and not (t.kind == "callback" and
                                                             other == "params"):
                key = "type" if other == "aliased" else other
                yield problem("LINT-type-shape", f"type {t.name} of kind {t.kind} cannot have "
                              f"`{key}:`", t.location, (*path, key), f"remove {key}")
        for ctype in [*(f.ctype for f in t.fields), *t.params,
                      *([t.returns] if t.returns else [])]:
            if not known_type(spec, ctype):
                yield problem("LINT-unknown-type", f"type {t.name}: unknown type {ctype.c}",
                              t.location, path, "declare it under `types:`")
        values = [v.value for v in t.values]
        if len(set(values)) != len(values):
            yield problem("LINT-duplicate-name", f"enum {t.name} repeats a value", t.location,
                          (*path, "values"), "list each value once")
    codes = spec.errors.codes
    with_http = [c for c in codes if c.http_status is not None or c.retriable is not None]
    if with_http and len(with_http) != len(codes) or \
            any((c.http_status is None) != (c.retriable is None) for c in codes):
        first = next(c for c in codes if c.http_status is None or c.retriable is None)
        yield problem("LINT-http-partial", f"error {first.key} lacks http_status or retriable, "
                      "but other codes have them", first.location,
                      ("errors", "codes", codes.index(first)),
                      "the HTTP extension is all or nothing: give every code both fields")
    for fn in spec.functions:
        for p in fn.params:
            if p.fixed is None:
                continue
            decl = spec.type_decl(p.ctype.base)
            if decl is None or p.fixed not in {k.name for k in decl.constants}:
                yield problem("LINT-dangling-reference", f"{fn.name}.{p.name}: fixed names "
                              f"{p.fixed!r}, which is not a constant of {p.ctype.base}",
                              p.location, ppath(spec, fn, p, "fixed"),
                              f"declare it under the `constants:` of type {p.ctype.base}")
    yield from _python_target(spec)
    yield from _boundary_target(spec)


def _boundary_target(spec: Spec) -> Iterator[Problem]:
    """The generated C++ boundary reports through an `int*` out-parameter (or a sentinel with
    the per-thread detail) and creates handles by returning them."""
    if spec.targets is None or not spec.targets.boundary:
        return
    for fn in spec.functions:
        ch = fn.channel
        if ch.is_status or (ch.is_sentinel and (ch.code_from or ch.scope == "handle")):
            yield problem("LINT-target-unsupported", f"{fn.name}: the generated C++ boundary "
                          f"cannot report through a {ch.kind} channel yet", fn.location,
                          fpath(spec, fn, "error_channel" if own_channel(spec, fn) else "errors"),
                          "use an int* out-parameter channel, or set targets.cpp.enabled: false "
                          "and implement the header directly")
        for p in fn.params:
            if p.is_out_handle:
                yield problem("LINT-target-unsupported", f"{fn.name}.{p.name}: the generated C++ "
                              "boundary creates handles by returning them, not through "
                              f"{p.ctype.c}", p.location, ppath(spec, fn, p, "type"),
                              "return the handle, or set targets.cpp.enabled: false")


def _python_target(spec: Spec) -> Iterator[Problem]:
    if spec.targets is None or spec.targets.python_package is None:
        return
    for fn in spec.functions:
        for p in fn.params:
            if p.binding != "unsupported" or not known_type(spec, p.ctype):
                continue  # an unknown type is LINT-unknown-type, not a missing feature
            decl = spec.type_decl(p.ctype.base)
            what = ("a callback" if decl is not None and decl.kind == "callback" else
                    "a struct by value" if decl is not None and decl.kind == "struct" else
                    f"an {p.direction} parameter of type {p.ctype.c}")
            yield problem("LINT-target-unsupported", f"{fn.name}.{p.name}: the Python bindings "
                          f"cannot pass {what} yet", p.location, ppath(spec, fn, p, "type"),
                          "declare `capacity:` for an out-buffer, give a callback `fixed: "
                          "CONSTANT` (a named constant of its type), or turn the Python target "
                          "off (targets.python.enabled: false)")
