"""Semantic lints: the rules a JSON Schema cannot express. Each finding has a stable rule ID,
the spec location and a fix hint. An `exceptions:` entry in the spec can waive one rule for
named functions, with a reason that the lock document prints."""

from __future__ import annotations

import difflib
import keyword
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from generator.model import CType, Function, Param, Spec
from generator.problems import Location, Problem

Lint = Callable[[Spec], Iterator[Problem]]
LINTS: list[Lint] = []
def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def lint(fn: Lint) -> Lint:
    LINTS.append(fn)
    return fn


def run_lints(spec: Spec, tolerate_errors: bool = False) -> list[Problem]:
    """Every finding of every lint. With `tolerate_errors` (the schema already rejected part of
    the document), a lint that fails on a value the schema refused is skipped instead of
    raising: it was looking at a node that is not a valid spec."""
    waived = {(fn, e.rule) for e in spec.exceptions for fn in e.applies_to}
    problems: list[Problem] = []
    for check in LINTS:
        try:
            found = list(check(spec))
        except Exception:
            if not tolerate_errors:
                raise
            continue
        for p in found:
            subject = p.path[1] if len(p.path) > 1 and p.path[0] == "functions" else None
            fn_name = spec.functions[subject].name if isinstance(subject, int) else None
            if (fn_name, p.rule) not in waived:
                problems.append(_pinpoint(spec, p))
    return problems


def _pinpoint(spec: Spec, p: Problem) -> Problem:
    """Point at the exact node the path names (an item of `errors:`, a key), not at the
    enclosing function, when the source knows where it is."""
    exact = spec.locations.get(p.path) if spec.locations else None
    if exact is None or exact == p.location:
        return p
    return Problem(p.rule, p.message, exact, p.path, p.hint)


def _fpath(spec: Spec, fn: Function, *rest: str | int) -> tuple[str | int, ...]:
    del spec
    return ("functions", fn.index, *rest)


def _ppath(spec: Spec, fn: Function, p: Param, *rest: str | int) -> tuple[str | int, ...]:
    return _fpath(spec, fn, "params", p.index, *rest)


def _problem(rule: str, msg: str, loc: Location, path: tuple[str | int, ...], hint: str) -> Problem:
    return Problem(rule, msg, loc, path, hint)


@lint
def duplicate_names(spec: Spec) -> Iterator[Problem]:
    seen: dict[str, Location] = {}
    for i, fn in enumerate(spec.functions):
        if fn.name in seen:
            yield _problem("LINT-duplicate-name", f"function {fn.name!r} is declared twice "
                           f"(first at {seen[fn.name]})", fn.location, ("functions", i, "name"),
                           "remove one declaration, or mark a compatible duplicate with alias_of")
        seen.setdefault(fn.name, fn.location)
        names: set[str] = set()
        for p in fn.params:
            if p.name in names:
                yield _problem("LINT-duplicate-name", f"parameter {p.name!r} appears twice in "
                               f"{fn.name}", p.location, _ppath(spec, fn, p, "name"),
                               "rename one of the parameters")
            names.add(p.name)
    hseen: set[str] = set()
    for i, h in enumerate(spec.handles):
        if h.name in hseen:
            yield _problem("LINT-duplicate-name", f"handle {h.name!r} is declared twice",
                           h.location, ("handles", i, "name"), "remove one declaration")
        hseen.add(h.name)
    for attr in ("name", "key"):
        cseen: set[str] = set()
        for i, c in enumerate(spec.errors.codes):
            v = getattr(c, attr)
            if v in cseen:
                yield _problem("LINT-duplicate-name", f"error {attr} {v!r} is used twice",
                               c.location, ("errors", "codes", i, attr),
                               "every error code needs a unique C name and string key")
            cseen.add(v)


@lint
def duplicate_error_values(spec: Spec) -> Iterator[Problem]:
    seen: dict[int, str] = {}
    for i, c in enumerate(spec.errors.codes):
        if c.value in seen:
            yield _problem("LINT-duplicate-error-value", f"{c.name} reuses value {c.value} of "
                           f"{seen[c.value]}", c.location, ("errors", "codes", i, "value"),
                           "pinned values are unique; append a new value instead")
        seen.setdefault(c.value, c.name)
    if not any(c.value == 0 for c in spec.errors.codes):
        yield _problem("LINT-no-success-code", "the error table has no code with value 0",
                       spec.errors.codes[0].location, ("errors", "codes"),
                       "add the success code with value 0")


@lint
def unaliased_duplicates(spec: Spec) -> Iterator[Problem]:
    by_meaning: dict[tuple[tuple[str, ...], str], Function] = {}
    for fn in spec.functions:
        key = (fn.signature_key, " ".join(fn.doc.lower().split()))
        first = by_meaning.get(key)
        if first is not None and fn.alias_of != first.name and first.alias_of != fn.name:
            yield _problem("LINT-unmarked-alias", f"{fn.name} has the signature and meaning of "
                           f"{first.name} but is not marked as its alias", fn.location,
                           _fpath(spec, fn, "name"),
                           f"add `alias_of: {first.name}` and a deprecation, or remove it")
        by_meaning.setdefault(key, fn)


@lint
def aliases(spec: Spec) -> Iterator[Problem]:
    names = {f.name: f for f in spec.functions}
    for fn in spec.functions:
        if fn.alias_of is None:
            continue
        target = names.get(fn.alias_of)
        if target is None:
            yield _problem("LINT-dangling-reference", f"{fn.name}: alias_of names unknown "
                           f"function {fn.alias_of!r}", fn.location, _fpath(spec, fn, "alias_of"),
                           _suggest(fn.alias_of, names))
        elif target.signature_key != fn.signature_key:
            yield _problem("LINT-alias-signature", f"{fn.name} is an alias of {target.name} but "
                           "their signatures differ", fn.location, _fpath(spec, fn, "alias_of"),
                           "an alias must have the same parameter and return types")
        if fn.deprecated and fn.deprecated.replacement and fn.deprecated.replacement not in names:
            yield _problem("LINT-dangling-reference", f"{fn.name}: deprecated.replacement names "
                           f"unknown function {fn.deprecated.replacement!r}", fn.location,
                           _fpath(spec, fn, "deprecated", "replacement"),
                           _suggest(fn.deprecated.replacement, names))


@lint
def handles(spec: Spec) -> Iterator[Problem]:
    names = {f.name: f for f in spec.functions}
    handle_names = {h.name for h in spec.handles}
    for i, h in enumerate(spec.handles):
        if h.parent is not None and h.parent not in handle_names:
            yield _problem("LINT-dangling-reference", f"handle {h.name}: unknown parent "
                           f"{h.parent!r}", h.location, ("handles", i, "parent"),
                           _suggest(h.parent, handle_names))
        creator = names.get(h.created_by)
        if creator is None:
            yield _problem("LINT-handle-no-creator", f"handle {h.name}: creating function "
                           f"{h.created_by!r} is not declared", h.location,
                           ("handles", i, "created_by"), _suggest(h.created_by, names))
        elif creator.created_out is not None:
            pass  # created through a `Handle**` out-parameter (sqlite3_open_v2)
        elif creator.returns.ctype.base != h.name or creator.returns.ctype.depth != 1:
            yield _problem("LINT-handle-creator-type", f"handle {h.name}: {creator.name} returns "
                           f"{creator.returns.ctype.c}, not {h.name}*", creator.location,
                           _fpath(spec, creator, "returns", "type"),
                           f"the creating function returns `{h.name}*` or writes it through a "
                           f"`{h.name}**` out-parameter")
        elif creator.returns.ownership != "transferred":
            yield _problem("LINT-handle-creator-type", f"{creator.name} creates {h.name} but its "
                           "return ownership is not `transferred`", creator.location,
                           _fpath(spec, creator, "returns"), "set returns.ownership: transferred")
        destroyer = names.get(h.destroyed_by)
        if destroyer is None:
            yield _problem("LINT-handle-no-destroyer", f"handle {h.name}: destroying function "
                           f"{h.destroyed_by!r} is not declared", h.location,
                           ("handles", i, "destroyed_by"), _suggest(h.destroyed_by, names))
            continue
        first = destroyer.params[0] if destroyer.params else None
        if first is None or first.handle != h.name:
            yield _problem("LINT-handle-destroyer-type", f"{destroyer.name} destroys {h.name} "
                           f"but its first parameter is not a {h.name}*", destroyer.location,
                           _fpath(spec, destroyer, "params"),
                           f"make the first parameter `{h.name}*`")
        elif not first.nullable:
            yield _problem("LINT-destroyer-not-nullable", f"{destroyer.name} must accept NULL "
                           f"(destroying NULL is a no-op)", first.location,
                           _ppath(spec, destroyer, first, "nullable"), "set `nullable: true`")
        elif first.ownership != "transferred":
            yield _problem("LINT-destroyer-not-nullable", f"{destroyer.name} takes ownership of "
                           f"{first.name} but does not say so", first.location,
                           _ppath(spec, destroyer, first, "ownership"),
                           "set `ownership: transferred`")


@lint
def error_references(spec: Spec) -> Iterator[Problem]:
    keys = set(spec.errors.keys)
    results = {c.key for c in spec.errors.results}
    used: set[str] = set()
    for fn in spec.functions:
        for j, key in enumerate(fn.errors):
            used.add(key)
            if key not in keys:
                yield _problem("LINT-unknown-error", f"{fn.name} declares error {key!r}, which is "
                               "not in the error table", fn.location, _fpath(spec, fn, "errors", j),
                               _suggest(key, keys))
            elif key in results:
                yield _problem("LINT-unknown-error", f"{fn.name} lists the success code {key} as "
                               "an error", fn.location, _fpath(spec, fn, "errors", j),
                               "remove it; success is never an error (a status channel lists "
                               "it under error_channel.success)")
        if len(set(fn.errors)) != len(fn.errors):
            yield _problem("LINT-duplicate-name", f"{fn.name} lists an error code twice",
                           fn.location, _fpath(spec, fn, "errors"), "list each code once")
        for p in fn.params:
            if p.precondition and p.violation_declared:
                yield _problem("LINT-precondition-code", f"{fn.name}.{p.name}: a precondition "
                               f"reports no code, but on_violation names {p.on_violation}",
                               p.location, _ppath(spec, fn, p, "on_violation"),
                               "remove on_violation, or make the rule `rule: checked`")
                continue
            if not p.checked or p.is_error_out or p.handle:
                continue
            if p.on_violation and p.on_violation not in keys:
                yield _problem("LINT-unknown-error", f"{fn.name}.{p.name}: on_violation names "
                               f"unknown error {p.on_violation!r}", p.location,
                               _ppath(spec, fn, p, "on_violation"), _suggest(p.on_violation, keys))
            elif not p.on_violation and p.has_rules and fn.errors:
                yield _problem("LINT-violation-missing", f"{fn.name}.{p.name} has a checked rule "
                               "but no error code to report when it is broken", p.location,
                               _ppath(spec, fn, p),
                               "add `on_violation: KEY` (or errors.violation for every "
                               "parameter), or mark the rule `rule: precondition`")
            elif p.has_rules and p.on_violation and \
                    p.on_violation not in fn.errors and fn.errors:
                yield _problem("LINT-undeclared-violation", f"{fn.name}.{p.name} reports "
                               f"{p.on_violation} when its rule is broken, but {fn.name} does not "
                               "declare it", p.location, _ppath(spec, fn, p),
                               f"add {p.on_violation} to {fn.name}.errors")
    used |= {k for fn in spec.functions for k in fn.channel.success}
    for i, c in enumerate(spec.errors.codes):
        if not c.is_success and c.key not in used:
            yield _problem("LINT-unused-error", f"error {c.key} is reported by no function",
                           c.location, ("errors", "codes", i),
                           "declare it in the functions that report it, or remove it before lock")


@lint
def error_channel(spec: Spec) -> Iterator[Problem]:
    names = {f.name: f for f in spec.functions}
    for fn in spec.functions:
        ch = fn.channel
        ep = fn.error_param
        if ep is not None:
            if ep.ctype.c != "int*" or not ep.nullable or ep.written != "always":
                yield _problem("LINT-error-param-shape", f"{fn.name}.{ep.name} must be "
                               "`int*`, nullable, written: always", ep.location,
                               _ppath(spec, fn, ep), "a NULL error_code is tolerated everywhere")
            if not fn.errors:
                yield _problem("LINT-fallible-no-errors", f"{fn.name} has an error channel but "
                               "declares no error code", fn.location, _fpath(spec, fn, "errors"),
                               "list the closed set of codes it can report")
            elif spec.errors.unknown in spec.errors.keys and spec.errors.unknown not in fn.errors:
                yield _problem("LINT-missing-unknown", f"{fn.name} can fail but does not declare "
                               f"{spec.errors.unknown}, which the boundary reports for unexpected "
                               "failures", fn.location, _fpath(spec, fn, "errors"),
                               f"add {spec.errors.unknown} to errors")
            if fn.params[-1] is not ep:
                yield _problem("LINT-error-param-shape", f"{fn.name}: the error channel must be "
                               "the last parameter", ep.location, _ppath(spec, fn, ep),
                               "move it to the end")
        elif ch.kind == "out_param":
            yield _problem("LINT-error-param-shape", f"{fn.name}: error_channel names parameter "
                           f"{ch.param!r}, which it does not have", fn.location,
                           _fpath(spec, fn, "error_channel"), "add the `int*` out-parameter")
        elif fn.errors and spec.interface.default_channel.kind == "out_param" and \
                not _own_channel(spec, fn):
            # A sentinel by derivation: the function departs from the interface's channel.
            yield _problem("LINT-fallible-needs-error-channel", f"{fn.name} declares errors but "
                           f"has no `{spec.interface.error_out_param}` parameter", fn.location,
                           _fpath(spec, fn, "errors"),
                           f"add the {spec.interface.error_out_param} out-parameter, give it an "
                           "error_channel, or waive this rule in `exceptions:` with a reason")
        elif fn.errors and ch.kind == "none":
            yield _problem("LINT-fallible-needs-error-channel", f"{fn.name} declares errors but "
                           "has no error channel", fn.location, _fpath(spec, fn, "errors"),
                           "give it an error_channel (out_param, status or sentinel), or waive "
                           "this rule in `exceptions:` with a reason")
        elif ch.kind == "status":
            yield from _status_channel(spec, fn)
        elif ch.kind == "sentinel" and ch.code_from is None and ch.detail_from is None:
            yield _problem("LINT-role-missing", f"{fn.name} reports failure only through its "
                           f"return value {ch.sentinel}, and the spec has no way to tell a "
                           "failure from that result: no `last_error_detail` role and no "
                           "error_channel code or detail function", fn.location,
                           _fpath(spec, fn, "error_channel" if _own_channel(spec, fn) else "errors"),
                           "give a function `role: last_error_detail`, or set "
                           "error_channel.code / error_channel.detail")
        if ch.kind in ("status", "sentinel", "out_param"):
            for what, ref in (("code", ch.code_from), ("detail", ch.detail_from)):
                if ref is not None:
                    yield from _channel_function(spec, fn, what, ref, names)
            if ch.kind == "sentinel" and ch.sentinel is None:
                yield _problem("LINT-on-error-missing", f"{fn.name}: a sentinel channel needs the "
                               "failure value", fn.location, _fpath(spec, fn, "returns"),
                               "set returns.on_error or error_channel.sentinel")


def _own_channel(spec: Spec, fn: Function) -> bool:
    return bool(spec.locations) and ("functions", fn.index, "error_channel") in spec.locations


def _status_channel(spec: Spec, fn: Function) -> Iterator[Problem]:
    ch = fn.channel
    if not fn.returns.ctype.is_integer:
        yield _problem("LINT-error-param-shape", f"{fn.name} reports a status code but returns "
                       f"{fn.returns.ctype.c}", fn.location, _fpath(spec, fn, "returns", "type"),
                       "a status channel returns an integer code")
    keys = set(spec.errors.keys)
    if not ch.success:
        yield _problem("LINT-no-success-code", f"{fn.name}: its status channel has no success "
                       "code", fn.location, _fpath(spec, fn, "error_channel"),
                       "add error_channel.success, or a code with value 0 to the table")
    for key in ch.success:
        if key not in keys:
            yield _problem("LINT-unknown-error", f"{fn.name}: success code {key!r} is not in "
                           "the error table", fn.location, _fpath(spec, fn, "error_channel"),
                           _suggest(key, keys))
        elif key in fn.errors:
            yield _problem("LINT-unknown-error", f"{fn.name}: {key} is both a success code and "
                           "an error", fn.location, _fpath(spec, fn, "error_channel"),
                           "list it in one place only")
        elif not spec.errors.by_key(key).is_result:
            yield _problem("LINT-unknown-error", f"{fn.name}: success code {key} is not marked "
                           "`success: true` in the error table", fn.location,
                           _fpath(spec, fn, "error_channel"),
                           f"set `success: true` on {key} in errors.codes")


def _channel_function(spec: Spec, fn: Function, what: str, ref: str,
                      names: dict[str, Function]) -> Iterator[Problem]:
    target = names.get(ref)
    where = _fpath(spec, fn, "error_channel") if spec.locations and \
        ("functions", fn.index, "error_channel") in spec.locations else ("interface", "error_channel")
    if target is None:
        yield _problem("LINT-dangling-reference", f"{fn.name}: the error {what} function "
                       f"{ref!r} is not declared", fn.location, where, _suggest(ref, names))
        return
    handles = [p for p in target.params if p.handle]
    if fn.channel.scope == "handle" and (len(handles) != 1 or len(target.params) != 1):
        yield _problem("LINT-error-param-shape", f"{ref} yields per-handle error {what}s, so it "
                       "takes exactly one handle", target.location, _fpath(spec, target, "params"),
                       "give it one handle parameter, or use scope: thread")
    if fn.channel.scope == "thread" and target.params:
        yield _problem("LINT-error-param-shape", f"{ref} yields per-thread error {what}s, so it "
                       "takes no argument", target.location, _fpath(spec, target, "params"),
                       "remove its parameters, or use scope: handle")
    if what == "detail" and not target.returns.ctype.is_string:
        yield _problem("LINT-error-param-shape", f"{ref} yields the error detail, so it returns "
                       f"`const char*`, not {target.returns.ctype.c}", target.location,
                       _fpath(spec, target, "returns", "type"), "return `const char*`")
    if fn.channel.scope == "handle" and fn.channel.detail_handle is not None and \
            spec.detail_hops(fn) is None and fn.created_out is None:
        yield _problem("LINT-error-param-shape", f"{fn.name}: its error {what} comes from a "
                       f"{fn.channel.detail_handle}, which it neither receives nor creates, nor "
                       "descends from", fn.location, _fpath(spec, fn),
                       "give the function that handle (or a child of it) as first parameter")


@lint
def parameters(spec: Spec) -> Iterator[Problem]:
    for fn in spec.functions:
        by_name = {p.name: p for p in fn.params}
        for p in fn.params:
            if p.direction in ("out", "inout") and not p.is_pointer:
                yield _problem("LINT-out-not-pointer", f"{fn.name}.{p.name} is an out-parameter "
                               f"of non-pointer type {p.ctype.c}", p.location,
                               _ppath(spec, fn, p, "type"), f"use `{p.ctype.c}*`")
            if p.direction == "out" and p.is_pointer and p.written is None:
                yield _problem("LINT-out-written", f"{fn.name}.{p.name}: out-parameter does not "
                               "say when it is written", p.location, _ppath(spec, fn, p),
                               "add `written: always | on_success | when_true`")
            if p.written is not None and p.direction == "in":
                yield _problem("LINT-out-written", f"{fn.name}.{p.name}: `written` applies only "
                               "to out-parameters", p.location, _ppath(spec, fn, p, "written"),
                               "remove it or set direction: out")
            if p.written == "when_true" and not fn.returns.ctype.is_bool:
                yield _problem("LINT-out-written", f"{fn.name}.{p.name}: `written: when_true` "
                               "needs a bool result", p.location, _ppath(spec, fn, p, "written"),
                               "use on_success")
            if p.nullable and not p.is_pointer:
                yield _problem("LINT-nullable-scalar", f"{fn.name}.{p.name} is nullable but not "
                               "a pointer", p.location, _ppath(spec, fn, p, "nullable"),
                               "remove `nullable`")
            if not _known_type(spec, p.ctype):
                yield _problem("LINT-unknown-type", f"{fn.name}.{p.name}: unknown type "
                               f"{p.ctype.c}", p.location, _ppath(spec, fn, p, "type"),
                               "use a C scalar type, a declared handle, or declare the type "
                               "under `types:`")
            if p.len is not None:
                target = by_name.get(p.len)
                if target is None:
                    yield _problem("LINT-len-unknown", f"{fn.name}.{p.name}: len names unknown "
                                   f"parameter {p.len!r}", p.location, _ppath(spec, fn, p, "len"),
                                   _suggest(p.len, by_name))
                elif not (target.ctype.is_integer or (target.ctype.depth == 1 and
                                                      target.direction == "inout" and
                                                      target.ctype.pointee.is_integer)):
                    yield _problem("LINT-len-not-integer", f"{fn.name}.{p.name}: len parameter "
                                   f"{p.len} has type {target.ctype.c}", p.location,
                                   _ppath(spec, fn, p, "len"), "a length must be an integer")
            yield from _range_fits(spec, fn, p)
            if (p.utf8 or p.min_bytes) and not p.ctype.is_string:
                yield _problem("LINT-string-rule-type", f"{fn.name}.{p.name}: string rules on "
                               f"non-string type {p.ctype.c}", p.location,
                               _ppath(spec, fn, p, "string"), "use `const char*`")


def _known_type(spec: Spec, ctype: CType) -> bool:
    return ctype.is_scalar_base or ctype.base in {h.name for h in spec.handles} or \
        spec.type_decl(ctype.base) is not None


@lint
def types_and_targets(spec: Spec) -> Iterator[Problem]:
    """Declared types are well formed, and every feature the spec uses can be rendered by the
    targets it asks for (Python bindings: no free callbacks, no structs by value)."""
    seen: set[str] = set()
    for i, t in enumerate(spec.types):
        path = ("types", i)
        if t.name in seen or t.name in {h.name for h in spec.handles}:
            yield _problem("LINT-duplicate-name", f"type {t.name!r} is declared twice",
                           t.location, (*path, "name"), "remove one declaration")
        seen.add(t.name)
        needs = {"enum": "values", "struct": "fields", "callback": "returns",
                 "alias": "aliased"}[t.kind]
        if not getattr(t, needs):
            needs = "type" if needs == "aliased" else needs
            yield _problem("LINT-type-shape", f"type {t.name} of kind {t.kind} needs `{needs}:`",
                           t.location, path, f"add {needs}, or change the kind")
        for other in ("values", "fields", "returns", "params", "aliased"):
            if other != needs and getattr(t, other) and not (t.kind == "callback" and
                                                             other == "params"):
                key = "type" if other == "aliased" else other
                yield _problem("LINT-type-shape", f"type {t.name} of kind {t.kind} cannot have "
                               f"`{key}:`", t.location, (*path, key), f"remove {key}")
        for ctype in [*(f.ctype for f in t.fields), *t.params,
                      *([t.returns] if t.returns else [])]:
            if not _known_type(spec, ctype):
                yield _problem("LINT-unknown-type", f"type {t.name}: unknown type {ctype.c}",
                               t.location, path, "declare it under `types:`")
        values = [v.value for v in t.values]
        if len(set(values)) != len(values):
            yield _problem("LINT-duplicate-name", f"enum {t.name} repeats a value", t.location,
                           (*path, "values"), "list each value once")
    codes = spec.errors.codes
    with_http = [c for c in codes if c.http_status is not None or c.retriable is not None]
    if with_http and len(with_http) != len(codes) or \
            any((c.http_status is None) != (c.retriable is None) for c in codes):
        first = next(c for c in codes if c.http_status is None or c.retriable is None)
        yield _problem("LINT-http-partial", f"error {first.key} lacks http_status or retriable, "
                       "but other codes have them", first.location,
                       ("errors", "codes", codes.index(first)),
                       "the HTTP extension is all or nothing: give every code both fields")
    for fn in spec.functions:
        for p in fn.params:
            if p.fixed is None:
                continue
            decl = spec.type_decl(p.ctype.base)
            if decl is None or p.fixed not in {k.name for k in decl.constants}:
                yield _problem("LINT-dangling-reference", f"{fn.name}.{p.name}: fixed names "
                               f"{p.fixed!r}, which is not a constant of {p.ctype.base}",
                               p.location, _ppath(spec, fn, p, "fixed"),
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
            yield _problem("LINT-target-unsupported", f"{fn.name}: the generated C++ boundary "
                           f"cannot report through a {ch.kind} channel yet", fn.location,
                           _fpath(spec, fn, "error_channel" if _own_channel(spec, fn) else "errors"),
                           "use an int* out-parameter channel, or set targets.cpp.enabled: false "
                           "and implement the header directly")
        for p in fn.params:
            if p.is_out_handle:
                yield _problem("LINT-target-unsupported", f"{fn.name}.{p.name}: the generated C++ "
                               "boundary creates handles by returning them, not through "
                               f"{p.ctype.c}", p.location, _ppath(spec, fn, p, "type"),
                               "return the handle, or set targets.cpp.enabled: false")


def _python_target(spec: Spec) -> Iterator[Problem]:
    if spec.targets is None or spec.targets.python_package is None:
        return
    for fn in spec.functions:
        for p in fn.params:
            if p.binding != "unsupported":
                continue
            decl = spec.type_decl(p.ctype.base)
            what = ("a callback" if decl is not None and decl.kind == "callback" else
                    "a struct by value" if decl is not None and decl.kind == "struct" else
                    f"a {p.direction} parameter of type {p.ctype.c}")
            yield _problem("LINT-target-unsupported", f"{fn.name}.{p.name}: the Python bindings "
                           f"cannot pass {what} yet", p.location, _ppath(spec, fn, p, "type"),
                           "declare `capacity:` for an out-buffer, give a callback `fixed: "
                           "CONSTANT` (a named constant of its type), or turn the Python target "
                           "off (targets.python.enabled: false)")


def _range_fits(spec: Spec, fn: Function, p: Param) -> Iterator[Problem]:
    if p.range is None and not p.allowed:
        return
    loc, path = p.location, _ppath(spec, fn, p, "range")
    if p.range is not None:
        if not (p.ctype.is_integer or p.ctype.is_float):
            yield _problem("LINT-range-type", f"{fn.name}.{p.name}: a range on non-numeric type "
                           f"{p.ctype.c}", loc, path, "ranges apply to integers and floats")
            return
        lo, hi = p.range.min, p.range.max
        limits = p.ctype.int_limits
        for bound in (lo, hi):
            if bound is None:
                continue
            if limits and (bound < limits[0] or bound > limits[1] or bound != int(bound)):
                yield _problem("LINT-range-type", f"{fn.name}.{p.name}: bound {bound} does not "
                               f"fit {p.ctype.c} [{limits[0]}, {limits[1]}]", loc, path,
                               "use a bound the C type can hold")
            if isinstance(bound, float) and not math.isfinite(bound):
                yield _problem("LINT-range-type", f"{fn.name}.{p.name}: bound {bound} is not "
                               "finite", loc, path, "omit the bound instead")
        if lo is not None and hi is not None and lo > hi:
            yield _problem("LINT-range-empty", f"{fn.name}.{p.name}: min {lo} > max {hi}", loc,
                           path, "swap or fix the bounds")
        if p.range.finite and not p.ctype.is_float:
            yield _problem("LINT-range-type", f"{fn.name}.{p.name}: `finite` applies to "
                           "floating-point types", loc, path, "remove `finite`")
        if p.ctype.is_float and not p.range.finite:
            yield _problem("LINT-range-type", f"{fn.name}.{p.name}: a float range must say "
                           "whether NaN and infinities are rejected", loc, path,
                           "add `finite: true`")
    values = [a.value for a in p.allowed]
    if len(set(values)) != len(values):
        yield _problem("LINT-duplicate-name", f"{fn.name}.{p.name}: allowed values repeat",
                       loc, _ppath(spec, fn, p, "allowed"), "list each value once")
    if p.allowed and not p.ctype.is_integer:
        yield _problem("LINT-range-type", f"{fn.name}.{p.name}: allowed values on non-integer "
                       f"type {p.ctype.c}", loc, _ppath(spec, fn, p, "allowed"),
                       "allowed values apply to integers")


@lint
def returns(spec: Spec) -> Iterator[Problem]:
    for fn in spec.functions:
        r = fn.returns
        path = _fpath(spec, fn, "returns")
        if r.ctype.is_bool and fn.channel.kind == "out_param" and not r.false_means:
            yield _problem("LINT-bool-ambiguous", f"{fn.name} returns bool but does not say what "
                           "false with code 0 means", fn.location, path, "add `false_means:`")
        if fn.fallible and not r.ctype.is_void and r.on_error is None and \
                fn.channel.kind not in ("status", "sentinel"):
            yield _problem("LINT-on-error-missing", f"{fn.name} can fail but does not say what it "
                           "returns on error", fn.location, path, "add `on_error:` (NULL, false, 0)")
        if r.on_error is not None:
            ok = (r.ctype.pointer and r.on_error == "NULL") or \
                 (r.ctype.is_bool and r.on_error in ("false", "true")) or \
                 ((r.ctype.is_integer or r.ctype.is_float) and _is_number(r.on_error))
            if not ok:
                yield _problem("LINT-on-error-type", f"{fn.name}: on_error {r.on_error!r} does not "
                               f"fit return type {r.ctype.c}", fn.location, path,
                               "use NULL for pointers, false for bool, a number for integers")
        if r.ctype.pointer and r.on_error == "NULL" and not r.nullable:
            yield _problem("LINT-on-error-type", f"{fn.name} returns NULL on error but its result "
                           "is not marked nullable", fn.location, path, "set `nullable: true`")
        if r.values:
            numbers = [v.value for v in r.values]
            if not r.ctype.is_integer:
                yield _problem("LINT-range-type", f"{fn.name}: result values on non-integer type "
                               f"{r.ctype.c}", fn.location, path, "result values apply to integers")
            if len(set(numbers)) != len(numbers) or len({v.name for v in r.values}) != len(numbers):
                yield _problem("LINT-duplicate-name", f"{fn.name}: result values repeat a value or "
                               "a name", fn.location, path, "list each value once")
            if r.on_error is not None and _is_number(r.on_error) and float(r.on_error) in numbers:
                yield _problem("LINT-on-error-type", f"{fn.name}: the error result {r.on_error} is "
                               "also a success value", fn.location, path,
                               "pick an error result outside the success values")
        if r.ctype.pointer and r.ownership is None:
            yield _problem("LINT-ownership-missing", f"{fn.name} returns a pointer without saying "
                           "who owns it", fn.location, path,
                           "set returns.ownership: borrowed | transferred | static")


# A number as C source writes it and as float() reads it the same way: no `nan`, `inf`,
# digit separators (`1_0`), surrounding spaces or hexadecimal.
_C_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _is_number(text: str) -> bool:
    return isinstance(text, str) and _C_NUMBER.fullmatch(text) is not None


@lint
def thread_safety(spec: Spec) -> Iterator[Problem]:
    names = {f.name for f in spec.functions}
    for fn in spec.functions:
        ts = fn.thread_safety
        params = {p.name for p in fn.params}
        for j, other in enumerate(ts.concurrent_with):
            if other not in names:
                yield _problem("LINT-thread-safety-reference", f"{fn.name}: concurrent_with names "
                               f"unknown function {other!r}", fn.location,
                               _fpath(spec, fn, "thread_safety", "concurrent_with", j),
                               _suggest(other, names))
            elif fn.name not in spec.function(other).thread_safety.concurrent_with and \
                    spec.function(other).thread_safety.cls != "safe":
                yield _problem("LINT-thread-safety-asymmetric", f"{fn.name} may run concurrently "
                               f"with {other}, but {other} does not say the same", fn.location,
                               _fpath(spec, fn, "thread_safety", "concurrent_with", j),
                               f"add {fn.name} to {other}.thread_safety.concurrent_with")
        for j, p in enumerate(ts.sync_on):
            if p not in params:
                yield _problem("LINT-thread-safety-reference", f"{fn.name}: sync_on names unknown "
                               f"parameter {p!r}", fn.location,
                               _fpath(spec, fn, "thread_safety", "sync_on", j), _suggest(p, params))
        if ts.cls == "externally_synchronized" and not ts.sync_on:
            yield _problem("LINT-thread-safety-reference", f"{fn.name} is externally synchronised "
                           "but names no handle to synchronise on", fn.location,
                           _fpath(spec, fn, "thread_safety"), "add `sync_on: [param]`")


@lint
def versions_and_groups(spec: Spec) -> Iterator[Problem]:
    current = _semver(spec.interface.version)
    groups = {g.name for g in spec.groups}
    for fn in spec.functions:
        if _semver(fn.since) > current:
            yield _problem("LINT-since-after-version", f"{fn.name} is `since: {fn.since}`, after "
                           f"the interface version {spec.interface.version}", fn.location,
                           _fpath(spec, fn, "since"), "bump interface.version or fix `since`")
        if fn.group not in groups:
            yield _problem("LINT-dangling-reference", f"{fn.name}: unknown group {fn.group!r}",
                           fn.location, _fpath(spec, fn, "group"), _suggest(fn.group, groups))
        if not fn.name.startswith(spec.interface.c_prefix):
            yield _problem("LINT-prefix", f"{fn.name} does not start with the C prefix "
                           f"{spec.interface.c_prefix!r}", fn.location, _fpath(spec, fn, "name"),
                           f"rename it {spec.interface.c_prefix}{fn.name}")
    roles: dict[str, int] = defaultdict(int)
    for fn in spec.functions:
        if fn.role:
            roles[fn.role] += 1
    for role, count in roles.items():
        if count > 1:
            yield _problem("LINT-duplicate-name", f"role {role!r} is given to {count} functions",
                           spec.functions[0].location, ("functions",), "one function per role")


@lint
def exception_targets(spec: Spec) -> Iterator[Problem]:
    names = {f.name for f in spec.functions}
    rules = {r for r in _KNOWN_RULES}
    for i, e in enumerate(spec.exceptions):
        for j, target in enumerate(e.applies_to):
            if target not in names:
                yield _problem("LINT-dangling-reference", f"exception {e.id} applies to unknown "
                               f"function {target!r}", e.location,
                               ("exceptions", i, "applies_to", j), _suggest(target, names))
        if e.rule not in rules:
            yield _problem("LINT-dangling-reference", f"exception {e.id} waives unknown rule "
                           f"{e.rule!r}", e.location, ("exceptions", i, "rule"),
                           _suggest(e.rule, rules))


_KNOWN_RULES = (
    "LINT-duplicate-name", "LINT-duplicate-error-value", "LINT-no-success-code",
    "LINT-unmarked-alias", "LINT-alias-signature", "LINT-dangling-reference",
    "LINT-handle-no-creator", "LINT-handle-creator-type", "LINT-handle-no-destroyer",
    "LINT-handle-destroyer-type", "LINT-destroyer-not-nullable", "LINT-unknown-error",
    "LINT-undeclared-violation", "LINT-unused-error", "LINT-error-param-shape",
    "LINT-fallible-no-errors", "LINT-missing-unknown", "LINT-fallible-needs-error-channel",
    "LINT-out-not-pointer", "LINT-out-written", "LINT-nullable-scalar", "LINT-unknown-type",
    "LINT-len-unknown", "LINT-len-not-integer", "LINT-string-rule-type", "LINT-range-type",
    "LINT-range-empty", "LINT-bool-ambiguous", "LINT-on-error-missing", "LINT-on-error-type",
    "LINT-ownership-missing", "LINT-thread-safety-reference", "LINT-thread-safety-asymmetric",
    "LINT-since-after-version", "LINT-prefix", "LINT-precondition-code",
    "LINT-violation-missing", "LINT-role-missing", "LINT-type-shape", "LINT-http-partial",
    "LINT-target-unsupported", "LINT-reserved-name",
)


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else "check the spelling"


@lint
def http_section(spec: Spec) -> Iterator[Problem]:
    """References of the HTTP section (fed parameters, error keys, events, links), resolved
    while the section was normalised."""
    if spec.http is not None:
        yield from spec.http.problems


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


@lint
def reserved_names(spec: Spec) -> Iterator[Problem]:
    """A name that is a keyword of a language it lands in breaks that artefact."""
    c_words = _C_KEYWORDS | _CPP_KEYWORDS

    def check(name: str, path: tuple[str | int, ...], loc: Location, what: str,
              python: bool = False) -> Iterator[Problem]:
        langs = (["C/C++"] if name in c_words else []) + \
                (["Python"] if python and name in _PYTHON_KEYWORDS else [])
        if langs:
            yield _problem("LINT-reserved-name", f"{what} {name!r} is a keyword in "
                           f"{' and '.join(langs)}", loc, path, f"rename it, e.g. {name}_")

    for fn in spec.functions:
        yield from check(fn.name, _fpath(spec, fn, "name"), fn.location, "function")
        for p in fn.params:
            yield from check(p.name, _ppath(spec, fn, p, "name"), p.location, "parameter",
                             python=True)
    for i, h in enumerate(spec.handles):
        yield from check(h.name, ("handles", i, "name"), h.location, "handle")
    for i, c in enumerate(spec.errors.codes):
        yield from check(c.name, ("errors", "codes", i, "name"), c.location, "error code")
    if spec.errors.enum:
        where = spec.errors.location or Location(spec.source, 1, 1)
        yield from check(spec.errors.enum, ("errors", "enum"), where, "enum")
