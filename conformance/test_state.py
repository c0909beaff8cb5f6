"""Every Hypothesis example starts from the known state.

Each example first checks that state: the accounting hooks read their baseline and every
thread-safe query gives the result it gave before anything was disturbed. Then it leaves a
mess for the next example: fault hooks armed with drawn values, handle chains left alive, a
failed call's detail. `Caller.begin_example()` must undo all of it; without that, an armed
fault or a leaked handle shows up in a later example (and Hypothesis reports it as flaky).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import contract
from conformance.calls import NULL
from conformance.hooks import Hooks
from conformance.test_threads import SAFE
from conformance.world import World, creatable, tree_order

SPEC = contract.load()
HOOKS = contract.hooks()
COUNTERS = [f for f in (HOOKS.get("testing_tracked_bytes"), HOOKS.get("testing_live_handles")) if f]
ROOTS = [h for h in tree_order(SPEC) if creatable(SPEC, h)]
PROBE_CALLS = 60  # arming draws stay within this, so a leaked call fault fires during the probe

pytestmark = [pytest.mark.isolated, pytest.mark.gpu]


def _arming(fn):
    p = Hooks.switch(fn)
    off = Hooks.disarm_value(fn)
    if p.allowed:
        return st.sampled_from([a.value for a in p.allowed if a.value != off])
    return st.integers(off + 1, off + PROBE_CALLS)


@pytest.mark.skipif(not HOOKS.faults and not COUNTERS,
                    reason="the spec declares no fault or accounting hook: no state to leak")
def test_every_example_starts_from_the_known_state(caller, rules, world):
    probes = [f for f in SAFE if world.can_call(f) and f.fallible]
    reference = [caller.call(f.name, **world.valid_args(f)).ret for f in probes]
    baseline = tuple(caller.call(f.name).ret for f in COUNTERS)

    @given(data=st.data())
    def explore(data: st.DataObject) -> None:
        caller.begin_example()
        state = tuple(caller.call(f.name).ret for f in COUNTERS)
        if state != baseline:
            raise caller.violation("RES-baseline", f"an example started with {state} on "
                                   f"{[f.name for f in COUNTERS]}, not the baseline {baseline}: "
                                   "the previous example's handles were not destroyed")
        for _ in range(max(1, PROBE_CALLS // max(1, len(probes)))):
            got = [caller.call(f.name, **world.valid_args(f)).ret for f in probes]
            if got != reference:
                bad = [(f.name, r, g) for f, r, g in zip(probes, reference, got, strict=True) if r != g]
                raise caller.violation(f"FN-{bad[0][0]}-returns", f"an example started in a "
                                       f"disturbed state: {bad} (function, first result, now); an "
                                       "armed fault outlived the example that armed it")
        # The mess the next example must not see.
        for h in data.draw(st.lists(st.sampled_from(ROOTS), max_size=3), label="left alive") if ROOTS else []:
            handles = dict(world.handles)
            parent = SPEC.handle(h.parent) if h.parent else None
            if parent is not None and parent.name in handles:
                handles[parent.name] = world.create(parent)
            fn = SPEC.function(h.created_by)
            caller.call(fn.name, **World(caller, world.plugin, handles=handles).valid_args(fn))
        failing = next((f for f in probes if f.handle_params), None)
        if failing is not None:
            caller.call(failing.name, **{**world.valid_args(failing), failing.handle_params[0].name: NULL})
        for fn in HOOKS.faults:
            if world.can_call(fn) and data.draw(st.booleans(), label=f"arm {fn.name}"):
                args = {**world.valid_args(fn), Hooks.switch(fn).name: data.draw(_arming(fn))}
                caller.call(fn.name, **args)

    explore()
