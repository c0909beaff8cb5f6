"""The error table and how functions report failure: unique pinned values, a success code,
declared and used codes, and error channels (out-parameter, status, sentinel) whose shape and
detail functions fit."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lints.common import fpath, own_channel, ppath, problem, suggest
from generator.model import Function, Spec
from generator.problems import Problem


def duplicate_error_values(spec: Spec) -> Iterator[Problem]:
    seen: dict[int, str] = {}
    for i, c in enumerate(spec.errors.codes):
        if c.value in seen:
            yield problem("LINT-duplicate-error-value", f"{c.name} reuses value {c.value} of "
                          f"{seen[c.value]}", c.location, ("errors", "codes", i, "value"),
                          "pinned values are unique; append a new value instead")
        seen.setdefault(c.value, c.name)
    if not any(c.value == 0 for c in spec.errors.codes):
        yield problem("LINT-no-success-code", "the error table has no code with value 0",
                      spec.errors.codes[0].location, ("errors", "codes"),
                      "add the success code with value 0")


def error_references(spec: Spec) -> Iterator[Problem]:
    keys = set(spec.errors.keys)
    results = {c.key for c in spec.errors.results}
    used: set[str] = set()
    for fn in spec.functions:
        for j, key in enumerate(fn.errors):
            used.add(key)
            if key not in keys:
                yield problem("LINT-unknown-error", f"{fn.name} declares error {key!r}, which is "
                              "not in the error table", fn.location, fpath(spec, fn, "errors", j),
                              suggest(key, keys))
            elif key in results:
                yield problem("LINT-unknown-error", f"{fn.name} lists the success code {key} as "
                              "an error", fn.location, fpath(spec, fn, "errors", j),
                              "remove it; success is never an error (a status channel lists "
                              "it under error_channel.success)")
        if len(set(fn.errors)) != len(fn.errors):
            yield problem("LINT-duplicate-name", f"{fn.name} lists an error code twice",
                          fn.location, fpath(spec, fn, "errors"), "list each code once")
        for p in fn.params:
            if p.precondition and p.violation_declared:
                yield problem("LINT-precondition-code", f"{fn.name}.{p.name}: a precondition "
                              f"reports no code, but on_violation names {p.on_violation}",
                              p.location, ppath(spec, fn, p, "on_violation"),
                              "remove on_violation, or make the rule `rule: checked`")
                continue
            if not p.checked or p.is_error_out or p.handle:
                continue
            if p.on_violation and p.on_violation not in keys:
                yield problem("LINT-unknown-error", f"{fn.name}.{p.name}: on_violation names "
                              f"unknown error {p.on_violation!r}", p.location,
                              ppath(spec, fn, p, "on_violation"), suggest(p.on_violation, keys))
            elif not p.on_violation and p.has_rules and fn.errors:
                yield problem("LINT-violation-missing", f"{fn.name}.{p.name} has a checked rule "
                              "but no error code to report when it is broken", p.location,
                              ppath(spec, fn, p),
                              "add `on_violation: KEY` (or errors.violation for every "
                              "parameter), or mark the rule `rule: precondition`")
            elif p.has_rules and p.on_violation and \
                    p.on_violation not in fn.errors and fn.errors:
                yield problem("LINT-undeclared-violation", f"{fn.name}.{p.name} reports "
                              f"{p.on_violation} when its rule is broken, but {fn.name} does not "
                              "declare it", p.location, ppath(spec, fn, p),
                              f"add {p.on_violation} to {fn.name}.errors")
    used |= {k for fn in spec.functions for k in fn.channel.success}
    for i, c in enumerate(spec.errors.codes):
        if not c.is_success and c.key not in used:
            yield problem("LINT-unused-error", f"error {c.key} is reported by no function",
                          c.location, ("errors", "codes", i),
                          "declare it in the functions that report it, or remove it before lock")


def error_channel(spec: Spec) -> Iterator[Problem]:
    names = {f.name: f for f in spec.functions}
    for fn in spec.functions:
        ch = fn.channel
        ep = fn.error_param
        if ep is not None:
            if ep.ctype.c != "int*" or not ep.nullable or ep.written != "always":
                yield problem("LINT-error-param-shape", f"{fn.name}.{ep.name} must be "
                              "`int*`, nullable, written: always", ep.location,
                              ppath(spec, fn, ep), "make it `type: \"int*\"`, `nullable: true`, "
                              f"`written: always` (a NULL {ep.name} is tolerated everywhere)")
            if not fn.errors:
                yield problem("LINT-fallible-no-errors", f"{fn.name} has an error channel but "
                              "declares no error code", fn.location, fpath(spec, fn, "errors"),
                              "list the closed set of codes it can report")
            elif spec.errors.unknown in spec.errors.keys and spec.errors.unknown not in fn.errors:
                yield problem("LINT-missing-unknown", f"{fn.name} can fail but does not declare "
                              f"{spec.errors.unknown}, which the boundary reports for unexpected "
                              "failures", fn.location, fpath(spec, fn, "errors"),
                              f"add {spec.errors.unknown} to errors")
            if fn.params[-1] is not ep:
                yield problem("LINT-error-param-shape", f"{fn.name}: the error channel must be "
                              "the last parameter", ep.location, ppath(spec, fn, ep),
                              "move it to the end")
        elif ch.kind == "out_param":
            yield _missing_error_param(spec, fn, ch.param, fpath(spec, fn, "error_channel"))
        elif fn.errors and spec.interface.default_channel.kind == "out_param" and \
                not own_channel(spec, fn) and \
                any(p.name == spec.interface.error_out_param for p in fn.params):
            yield _missing_error_param(spec, fn, spec.interface.error_out_param,
                                       fpath(spec, fn, "errors"))
        elif fn.errors and spec.interface.default_channel.kind == "out_param" and \
                not own_channel(spec, fn):
            # A sentinel by derivation: the function departs from the interface's channel.
            yield problem("LINT-fallible-needs-error-channel", f"{fn.name} declares errors but "
                          f"has no `{spec.interface.error_out_param}` parameter", fn.location,
                          fpath(spec, fn, "errors"),
                          f"add the {spec.interface.error_out_param} out-parameter, give it an "
                          "error_channel, or waive this rule in `exceptions:` with a reason")
        elif fn.errors and ch.kind == "none":
            yield problem("LINT-fallible-needs-error-channel", f"{fn.name} declares errors but "
                          "has no error channel", fn.location, fpath(spec, fn, "errors"),
                          "give it an error_channel (out_param, status or sentinel), or waive "
                          "this rule in `exceptions:` with a reason")
        elif ch.kind == "status":
            yield from _status_channel(spec, fn)
        if ch.kind == "sentinel" and ch.code_from is None and ch.detail_from is None:
            # Also for a sentinel by derivation whose missing out-parameter is waived: the
            # waiver accepts the signature, not a failure nobody can detect.
            yield problem("LINT-role-missing", f"{fn.name} reports failure only through its "
                          f"return value {ch.sentinel}, and the spec has no way to tell a "
                          "failure from that result: no `last_error_detail` role and no "
                          "error_channel code or detail function", fn.location,
                          fpath(spec, fn, "error_channel" if own_channel(spec, fn) else "errors"),
                          "give a function `role: last_error_detail`, or set "
                          "error_channel.code / error_channel.detail")
        if ch.kind in ("status", "sentinel", "out_param"):
            for what, ref in (("code", ch.code_from), ("detail", ch.detail_from)):
                if ref is not None:
                    yield from _channel_function(spec, fn, what, ref, names)
            if ch.kind == "sentinel" and ch.sentinel is None:
                yield problem("LINT-on-error-missing", f"{fn.name}: a sentinel channel needs the "
                              "failure value", fn.location, fpath(spec, fn, "returns"),
                              "set returns.on_error or error_channel.sentinel")


def _missing_error_param(spec: Spec, fn: Function, name: str | None,
                         where: tuple[str | int, ...]) -> Problem:
    """The out-parameter channel names a parameter the function lacks, or one that is not an
    out-parameter."""
    named = next((p for p in fn.params if p.name == name), None)
    if named is not None:
        return problem("LINT-error-param-shape", f"{fn.name}.{name} is the error channel but "
                       f"not an out-parameter (direction: {named.direction})", named.location,
                       ppath(spec, fn, named, "direction"), "set `direction: out`")
    if name is None:
        return problem("LINT-error-param-shape", f"{fn.name}: its out_param error channel names "
                       "no parameter", fn.location, where,
                       "set error_channel.param to its `int*` out-parameter")
    return problem("LINT-error-param-shape", f"{fn.name}: error_channel names parameter "
                   f"{name!r}, which it does not have", fn.location, where,
                   f"add the `int* {name}` out-parameter (last, nullable, written: always)")


def _status_channel(spec: Spec, fn: Function) -> Iterator[Problem]:
    ch = fn.channel
    if not fn.returns.ctype.is_integer:
        yield problem("LINT-error-param-shape", f"{fn.name} reports a status code but returns "
                      f"{fn.returns.ctype.c}", fn.location, fpath(spec, fn, "returns", "type"),
                      "a status channel returns an integer code")
    keys = set(spec.errors.keys)
    if not ch.success:
        yield problem("LINT-no-success-code", f"{fn.name}: its status channel has no success "
                      "code", fn.location, fpath(spec, fn, "error_channel"),
                      "add error_channel.success, or a code with value 0 to the table")
    for key in ch.success:
        if key not in keys:
            yield problem("LINT-unknown-error", f"{fn.name}: success code {key!r} is not in "
                          "the error table", fn.location, fpath(spec, fn, "error_channel"),
                          suggest(key, keys))
        elif key in fn.errors:
            yield problem("LINT-unknown-error", f"{fn.name}: {key} is both a success code and "
                          "an error", fn.location, fpath(spec, fn, "error_channel"),
                          "list it in one place only")
        elif not spec.errors.by_key(key).is_result:
            yield problem("LINT-unknown-error", f"{fn.name}: success code {key} is not marked "
                          "`success: true` in the error table", fn.location,
                          fpath(spec, fn, "error_channel"),
                          f"set `success: true` on {key} in errors.codes")


def _channel_function(spec: Spec, fn: Function, what: str, ref: str,
                      names: dict[str, Function]) -> Iterator[Problem]:
    target = names.get(ref)
    if target is None:
        # Named where it is written: the function's own error_channel, or the interface's
        # (then every function that inherits it gives the same finding, reported once).
        key = ("code",) if what == "code" else ("detail", "function")
        where = fpath(spec, fn, "error_channel", *key)
        owner = fn.name
        if not spec.locations or where not in spec.locations:
            where, owner = ("interface", "error_channel", *key), "interface.error_channel"
        yield problem("LINT-dangling-reference", f"{owner}: the error {what} function "
                      f"{ref!r} is not declared", fn.location, where, suggest(ref, names))
        return
    handles = [p for p in target.params if p.handle]
    if fn.channel.scope == "handle" and (len(handles) != 1 or len(target.params) != 1):
        yield problem("LINT-error-param-shape", f"{ref} yields per-handle error {what}s, so it "
                      "takes exactly one handle", target.location, fpath(spec, target, "params"),
                      "give it one handle parameter, or use scope: thread")
    if fn.channel.scope == "thread" and target.params:
        yield problem("LINT-error-param-shape", f"{ref} yields per-thread error {what}s, so it "
                      "takes no argument", target.location, fpath(spec, target, "params"),
                      "remove its parameters, or use scope: handle")
    if what == "detail" and not target.returns.ctype.is_string:
        yield problem("LINT-error-param-shape", f"{ref} yields the error detail, so it returns "
                      f"`const char*`, not {target.returns.ctype.c}", target.location,
                      fpath(spec, target, "returns", "type"), "return `const char*`")
    if fn.channel.scope == "handle" and fn.channel.detail_handle is not None and \
            spec.detail_hops(fn) is None and fn.created_out is None:
        yield problem("LINT-error-param-shape", f"{fn.name}: its error {what} comes from a "
                      f"{fn.channel.detail_handle}, which it neither receives nor creates, nor "
                      "descends from", fn.location, fpath(spec, fn),
                      "give the function that handle (or a child of it) as first parameter")
