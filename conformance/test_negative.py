"""Closed error sets and negative inputs, derived from every parameter rule of the spec.

Each case breaks one rule of one parameter (NULL, stale or forged handle, just and far outside
a range, NaN and infinities, a value outside `allowed`, invalid UTF-8, a too-short string) and
expects the declared code, the declared result on error and no crash; then it repeats the
call with a NULL error_code. Hypothesis then explores whole rule domains. Every test runs in a
forked child, so a crash is reported as a finding of the rule it broke.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from conformance import contract
from conformance.calls import NULL, Caller, Forged, HandleRef, Outcome, channel_kind, has_error_out_param
from conformance.hooks import Hooks
from conformance.negatives import (
    Case,
    cases_for,
    checked,
    default_violation,
    inside_strategy,
    outside_strategy,
    rule_violation,
    ruled_params,
)
from conformance.world import World, derived_value
from generator.model import Function, Param

SPEC = contract.load()
PLUGIN = contract.plugin()
HOOKS = contract.hooks()
CASES = cases_for(SPEC)
RULED = ruled_params(SPEC)
HANDLE_PARAMS = [(fn, p) for fn in SPEC.functions for p in fn.params
                 if p.handle and p.direction == "in" and checked(p)]
# Every function but destroyers (they would take the fixtures' handles away) and fault hooks.
VALID_CALLS = [fn for fn in SPEC.functions if not fn.destroys and not HOOKS.is_fault(fn)]
LIVE = HOOKS.get("testing_live_handles")
COUNTERS = [f for f in (HOOKS.get("testing_tracked_bytes"), LIVE) if f is not None]

pytestmark = pytest.mark.isolated


def _needs_world(fn: Function) -> bool:
    return any(p.direction == "in" and (p.handle or p.is_pointer) for p in fn.params)


def _world(request: pytest.FixtureRequest, fn: Function) -> World | None:
    return request.getfixturevalue("world") if _needs_world(fn) else None


def _resolve(value: Any, p: Param, world: World | None) -> Any:
    return world.resolve(value, p) if world is not None else value


def _args(fn: Function, world: World | None, caller: Caller) -> dict[str, Any]:
    if world is not None:
        return world.valid_args(fn)
    args = {}
    for p in fn.params:
        if p.direction == "in":
            try:
                args[p.name] = PLUGIN.valid(fn, p, None)
            except Exception:  # noqa: BLE001 - NotProvided, or a plug-in that needs a world
                args[p.name] = derived_value(p)
    return args


def _live(caller: Caller) -> int | None:
    return caller.call(LIVE.name).ret if LIVE is not None else None


def _skip_if_unavailable(fn: Function, caller: Caller) -> None:
    """A root creator cannot succeed where the library has no device (the plug-in says)."""
    if fn.creates and SPEC.handle(fn.creates).parent is None and caller.library.unavailable:
        pytest.skip(caller.library.unavailable)


def expect_rejected(caller: Caller, fn: Function, o: Outcome, key: str | None, rule: str,
                    what: str) -> None:
    """The call failed with `key` (any declared failure when None; without an error channel,
    with its on_error value and a detail message)."""
    if channel_kind(fn) != "none":
        if o.code is not None and key is None and o.ok:
            raise caller.violation(rule, f"{fn.name} with {what} reported success; expected a "
                                   "declared failure")
        if o.code is not None and key is not None and caller.code_key(o.code) != key:
            raise caller.violation(rule, f"{fn.name} with {what} reported "
                                   f"{caller.code_key(o.code)}, expected {key}")
        return
    if caller.has_detail and o.detail == "":
        raise caller.violation(rule, f"{fn.name} with {what} returned {o.ret!r} and left no "
                               f"detail; expected a failure ({key or 'declared'}) with a detail")


def run_case(caller: Caller, fn: Function, args: dict[str, Any], case_param: str, value: Any,
             rule: str, expect: str | None, what: str) -> None:
    args = {**args, case_param: value}
    caller.trace.rule(rule)
    live_before = _live(caller) if expect == "OK" else None
    o = caller.call(fn.name, **args)
    if expect == "OK":  # a destroyer given something that is not a live handle: a no-op
        live_after = _live(caller)
        if live_after != live_before:
            raise caller.violation(rule, f"{fn.name} with {what} changed the live handle count "
                                   f"from {live_before} to {live_after}; it must be a no-op")
        return
    expect_rejected(caller, fn, o, expect, rule, what)
    if has_error_out_param(fn):  # the same broken call must also survive a NULL error_code
        caller.trace.rule(f"FN-{fn.name}-error_code-nullable")
        caller.call(fn.name, **args, **{fn.error_param.name: NULL})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_negative_input(case: Case, caller: Caller, rules, request) -> None:
    fn = SPEC.function(case.fn)
    p = next(q for q in fn.params if q.name == case.param)
    world = _world(request, fn)
    if world is not None and not world.can_call(fn):
        pytest.skip(f"{fn.name} needs a handle the suite cannot create from the spec")
    value = _resolve(case.value, p, world)
    run_case(caller, fn, _args(fn, world, caller), p.name, value, case.rule, case.expect,
             f"{p.name}={_describe(value)}")


@pytest.mark.parametrize("fn", VALID_CALLS, ids=lambda f: f.name)
def test_valid_call_succeeds_with_and_without_error_code(fn: Function, caller: Caller, rules,
                                                         request) -> None:
    """The valid call is accepted (a check is not stricter than the spec), its result is one
    the spec allows (checked on every call), and a NULL error out-parameter changes nothing
    but the report."""
    _skip_if_unavailable(fn, caller)
    world = _world(request, fn)
    args = _args(fn, world, caller)
    if world is not None and not world.can_call(fn):
        pytest.skip(f"{fn.name} needs a handle the suite cannot create from the spec")
    o = caller.call(fn.name, **args)
    if not o.ok:
        raise caller.violation(f"FN-{fn.name}-returns", f"{fn.name} rejected valid arguments "
                               f"with {caller.code_key(o.code)}: {o.detail}")
    if fn.error_param is None:
        return
    caller.trace.rule(f"FN-{fn.name}-error_code-nullable")
    o2 = caller.call(fn.name, **args, **{fn.error_param.name: NULL})
    if fn.returns.handle and o2.ret is None:
        raise caller.violation(f"FN-{fn.name}-error_code-nullable",
                               f"{fn.name} returned NULL when error_code was NULL")


# With a call-fault hook: every fallible function with an error out-parameter must survive an
# internal failure (the code it writes is what the test compares with the internal-failure key).
FAIL_CALL = HOOKS.get("testing_fail_call")
INTERNAL_KEY = PLUGIN.internal_failure_key
INTERNAL_FAILURE_TARGETS = [] if FAIL_CALL is None else [
    f for f in SPEC.functions if has_error_out_param(f) and f.fallible and f is not FAIL_CALL
    and (INTERNAL_KEY is None or INTERNAL_KEY in f.errors)]


def _counters(caller: Caller) -> tuple[int, ...]:
    return tuple(caller.call(f.name).ret for f in COUNTERS)


@pytest.mark.parametrize("fn", INTERNAL_FAILURE_TARGETS, ids=lambda f: f.name)
def test_internal_failure_is_declared_and_leaves_nothing(fn: Function, caller: Caller, rules,
                                                         request) -> None:
    """The call-fault hook makes the next fallible call fail inside the library; the boundary
    must report a declared code (the plug-in's internal-failure key, if it names one) with a
    detail, return the error result, and leave no handle or tracked byte behind."""
    _skip_if_unavailable(fn, caller)
    world = _world(request, fn)
    args = _args(fn, world, caller)
    before = _counters(caller)
    caller.call(FAIL_CALL.name, **{Hooks.switch(FAIL_CALL).name: 1})
    o = caller.call(fn.name, **args)  # the wrapper checks the code, error result and detail
    if o.ok or (INTERNAL_KEY is not None and caller.code_key(o.code) != INTERNAL_KEY):
        raise caller.violation("RES-internal-failure", f"{fn.name} with an injected internal failure "
                               f"reported {caller.code_key(o.code)}, expected "
                               f"{INTERNAL_KEY or 'a declared failure'}")
    after = _counters(caller)
    if after != before:
        raise caller.violation("RES-internal-failure", f"the failed {fn.name} moved the counters "
                               f"{[f.name for f in COUNTERS]} from {before} to {after}")
    # Disarmed by firing: the same call now succeeds.
    o = caller.call(fn.name, **args)
    if not o.ok:
        raise caller.violation("RES-internal-failure", f"after the injected failure fired, {fn.name} "
                               f"still failed with {caller.code_key(o.code)}")


@pytest.mark.parametrize("fn,p", RULED, ids=lambda x: getattr(x, "name", None))
def test_outside_rule_is_rejected(fn: Function, p: Param, caller: Caller, rules, request) -> None:
    world = _world(request, fn)
    args = _args(fn, world, caller)
    kind = "range" if p.range is not None else "allowed"

    @given(value=outside_strategy(p))
    def explore(value: Any) -> None:
        caller.begin_example()
        note(f"{p.name} = {value!r}")
        run_case(caller, fn, args, p.name, value, f"FN-{fn.name}-{p.name}-{kind}",
                 rule_violation(SPEC, p), f"{p.name}={value!r}")

    explore()


@pytest.mark.parametrize("fn,p", [(f, q) for f, q in RULED if not any(x.len == q.name for x in f.params)],
                         ids=lambda x: getattr(x, "name", None))
def test_inside_rule_is_accepted(fn: Function, p: Param, caller: Caller, rules, request) -> None:
    world = _world(request, fn)
    args = _args(fn, world, caller)
    # The plug-in narrows a rule the library's state also limits (a device ordinal < count).
    provided = PLUGIN.strategy(fn, p, world, caller)
    strategy = provided if provided is not None else inside_strategy(p)
    kind = "range" if p.range is not None else "allowed"

    def check(value: Any) -> None:
        caller.begin_example()
        o = caller.call(fn.name, **{**args, p.name: value})
        if not o.ok:
            raise caller.violation(f"FN-{fn.name}-{p.name}-{kind}",
                                   f"{fn.name} rejected {p.name}={value!r}, inside the rule, with "
                                   f"{caller.code_key(o.code)}: {o.detail}")

    # The bounds themselves first (off-by-one checks), then Hypothesis inside the rule.
    bounds = [a.value for a in p.allowed] or [b for b in (p.range.min, p.range.max) if b is not None]
    for value in bounds if provided is None else []:
        check(value)
    given(value=strategy)(check)()


@pytest.mark.parametrize("fn,p", HANDLE_PARAMS, ids=lambda x: getattr(x, "name", None))
def test_forged_handles_are_rejected(fn: Function, p: Param, caller: Caller, rules, world) -> None:
    """Any 64-bit value that was never issued is rejected (or ignored by a destroyer)."""
    if not world.can_call(fn):
        pytest.skip(f"{fn.name} needs a handle the suite cannot create from the spec")
    live = {h.value for h in world.handles.values()}
    args = world.valid_args(fn)
    rule = f"HANDLE-{fn.destroys}-destroy-noop" if fn.destroys else f"FN-{fn.name}-{p.name}-handle"

    @given(value=st.integers(1, 2**64 - 1).filter(lambda v: v not in live))
    def explore(value: int) -> None:
        caller.begin_example()
        run_case(caller, fn, args, p.name, Forged(p.handle, value), rule,
                 "OK" if fn.destroys else default_violation(SPEC), f"{p.name}={value:#x} (forged)")

    explore()


@pytest.mark.parametrize("fn", [f for f in SPEC.functions if f.fallible and f.params],
                         ids=lambda f: f.name)
def test_any_broken_argument_is_reported(fn: Function, caller: Caller, rules, request) -> None:
    """Arguments drawn from valid values and every negative case at once: the code is always
    declared (checked on every call) and a call with a broken argument never succeeds."""
    world = _world(request, fn)
    base = _args(fn, world, caller)
    per_param = {c.param: [] for c in CASES if c.fn == fn.name}
    for c in CASES:
        if c.fn == fn.name and c.expect != "OK":
            per_param[c.param].append(c)
    if not any(per_param.values()):
        pytest.skip(f"{fn.name} has no parameter rule to break")

    @given(data=st.data())
    def explore(data: st.DataObject) -> None:
        caller.begin_example()
        args, broken = dict(base), []
        for name, cases in per_param.items():
            if cases and data.draw(st.booleans(), label=f"break {name}"):
                c = data.draw(st.sampled_from(cases), label=name)
                p = next(q for q in fn.params if q.name == name)
                args[name] = _resolve(c.value, p, world)
                broken.append(c)
        o = caller.call(fn.name, **args)
        if broken and o.ok:
            raise caller.violation(broken[0].rule, f"{fn.name} accepted broken arguments "
                                   f"({', '.join(c.label + ' ' + c.param for c in broken)})")
        expected = {c.expect for c in broken}
        if broken and o.code is not None and None not in expected and \
                caller.code_key(o.code) not in expected:
            raise caller.violation(broken[0].rule, f"{fn.name} reported "
                                   f"{caller.code_key(o.code)} for {[c.id for c in broken]}; "
                                   f"expected one of {sorted(expected)}")

    explore()


def _describe(value: Any) -> str:
    if isinstance(value, HandleRef):
        return f"{value.name} (stale)"
    if isinstance(value, Forged):
        return f"{value.value:#x} (forged {value.type})"
    return repr(value)
