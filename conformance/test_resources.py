"""Resources, when the spec declares the hooks: the allocation-fault hook with Hypothesis
choosing N over a creation chain from the root handle to the deepest one (declared failure,
NULL result, nothing leaked), and the return to baseline of the accounting hooks once the
root that owns everything is destroyed."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import contract
from conformance.calls import Caller
from conformance.hooks import Hooks
from conformance.world import World, creatable, tree_order
from generator.model import Handle

SPEC = contract.load()
HOOKS = contract.hooks()
PLUGIN = contract.plugin()
FAIL = HOOKS.get("testing_fail_allocation")
COUNTERS = [f for f in (HOOKS.get("testing_tracked_bytes"), HOOKS.get("testing_live_handles")) if f]


def _chain() -> list[Handle]:
    """The longest root-to-leaf path of creatable handle types."""
    order = [h for h in tree_order(SPEC) if creatable(SPEC, h)]
    best: list[Handle] = []
    for h in order:
        path = [h]
        while path[0].parent is not None:
            parent = SPEC.handle(path[0].parent)
            if parent not in order:
                break
            path.insert(0, parent)
        if path[0].parent is None and len(path) > len(best):
            best = path
    return best


CHAIN = _chain()
pytestmark = [pytest.mark.isolated, pytest.mark.gpu,
              pytest.mark.skipif(not COUNTERS or not CHAIN,
                                 reason="the spec declares no accounting hook (testing_live_handles / "
                                        "testing_tracked_bytes role) or no creatable handle")]


def _counters(caller: Caller) -> tuple[int, ...]:
    return tuple(caller.call(f.name).ret for f in COUNTERS)


def _create_chain(caller: Caller, world: World):
    """Create CHAIN root first; stop at the first failure. (created, (handle type, outcome) | None)"""
    created, parent = [], None
    for h in CHAIN:
        fn = SPEC.function(h.created_by)
        handles = dict(world.handles)
        if parent is not None:
            handles[parent.type] = parent
        o = caller.call(fn.name, **World(caller, world.plugin, handles=handles).valid_args(fn))
        if o.handle is None or not o.ok:
            return created, (fn, o)
        created.append(o.handle)
        parent = o.handle
    return created, None


def _destroy_root(caller: Caller, created) -> None:
    if created:
        fn = SPEC.function(SPEC.handle(created[0].type).destroyed_by)
        caller.call(fn.name, **{fn.handle_params[0].name: created[0]})


@pytest.mark.skipif(FAIL is None, reason="the spec declares no testing_fail_allocation role")
@given(nth=st.integers(1, 8))
@example(nth=1)
@example(nth=2)
@example(nth=3)
@example(nth=4)
def test_nth_allocation_failure_is_declared_and_leak_free(caller, rules, world, nth):
    caller.begin_example()
    caller.trace.rule("RES-fail-allocation")
    baseline = _counters(caller)
    switch = Hooks.switch(FAIL).name
    caller.call(FAIL.name, **{switch: nth})
    created, failed = _create_chain(caller, world)
    caller.call(FAIL.name, **{switch: Hooks.disarm_value(FAIL)})
    key = PLUGIN.allocation_failure_key
    if failed is not None:
        fn, o = failed
        if o.handle is not None or o.ok or (key and caller.code_key(o.code) != key):
            raise caller.violation("RES-fail-allocation", f"the failed allocation made {fn.name} give "
                                   f"{caller.code_key(o.code)} / {o.ret!r}, expected "
                                   f"{key or 'a declared failure'} / NULL")
    elif nth == 1 and _allocates(caller, world):
        raise caller.violation("RES-fail-allocation", "failing the first allocation failed nothing, "
                               "though the same creations allocate tracked bytes")
    _destroy_root(caller, created)
    after = _counters(caller)
    if after != baseline:
        raise caller.violation("RES-baseline", f"{[f.name for f in COUNTERS]} went {baseline} -> "
                               f"{after} after a failed allocation and destroying everything")


def _allocates(caller: Caller, world: World) -> bool:
    tracked = HOOKS.get("testing_tracked_bytes")
    if tracked is None:
        return False
    before = caller.call(tracked.name).ret
    created, _ = _create_chain(caller, world)
    grew = caller.call(tracked.name).ret > before
    _destroy_root(caller, created)
    return grew


def test_everything_destroyed_returns_to_baseline(caller, rules, world):
    baseline = _counters(caller)
    roots = []
    for _ in range(3):
        created, failed = _create_chain(caller, world)
        if failed is not None:
            fn, o = failed
            raise caller.violation(f"FN-{fn.name}-returns", f"{fn.name} refused valid arguments: "
                                   f"{caller.code_key(o.code)} {o.detail}")
        roots.append(created)
    for created in roots:
        _destroy_root(caller, created)
    after = _counters(caller)
    if after != baseline:
        raise caller.violation("RES-baseline", f"{[f.name for f in COUNTERS]} went {baseline} -> "
                               f"{after} after destroying the roots that owned everything")
