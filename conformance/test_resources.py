"""Resources: fault injection with cuda_testing_fail_allocation (Hypothesis picks N) and the
return to baseline of tracked device bytes and live handles once every handle is destroyed."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import contract

SPEC = contract.load()
# The creators whose declared errors include VRAM_OOM: each must survive a failed allocation.
OOM_CREATORS = [f.name for f in SPEC.functions if f.creates and "VRAM_OOM" in f.errors]

pytestmark = [pytest.mark.isolated, pytest.mark.gpu]


def _counters(caller):
    return (caller.call("cuda_testing_tracked_bytes").ret,
            caller.call("cuda_testing_live_handles").ret)


@given(nth=st.integers(1, 8), max_tokens=st.integers(1, 64))
@example(nth=1, max_tokens=8)
@example(nth=2, max_tokens=8)
@example(nth=3, max_tokens=8)
@example(nth=4, max_tokens=8)
def test_nth_allocation_failure_is_declared_and_leak_free(caller, rules, models, nth, max_tokens):
    caller.trace.begin_example()
    caller.trace.rule("RES-fail-allocation")
    baseline = _counters(caller)
    caller.call("cuda_testing_fail_allocation", nth=nth)
    steps = [("cuda_init", {"gpu_device": 0}),
             ("cuda_load_model", {"model_path": bytes(models["tiny"])}),
             ("cuda_inference_start", {"prompt": b"Hello", "max_tokens": max_tokens,
                                       "temperature": 0.0, "seed": 1})]
    parent, created, failed = None, [], None
    for fn, args in steps:
        if parent is not None:
            args = {**args, SPEC.function(fn).handle_params[0].name: parent}
        o = caller.call(fn, **args)
        if o.code != 0:
            failed = (fn, o)
            break
        parent = o.ret
        created.append(o.ret)
    caller.call("cuda_testing_fail_allocation", nth=0)
    if failed is not None:
        fn, o = failed
        if caller.code_key(o.code) != "VRAM_OOM" or o.ret is not None:
            raise caller.violation("RES-fail-allocation", f"the failed allocation made {fn} give "
                                   f"{caller.code_key(o.code)} / {o.ret!r}, expected VRAM_OOM / NULL")
    elif nth <= 3:
        # A context, the two weight tensors: at least three allocations happen in these steps.
        raise caller.violation("RES-fail-allocation", f"failing allocation #{nth} failed nothing")
    if created:
        caller.call("cuda_destroy", ctx=created[0])
    after = _counters(caller)
    if after != baseline:
        raise caller.violation("RES-baseline", f"(tracked bytes, live handles) went {baseline} -> "
                               f"{after} after a failed allocation and destroying everything")


def test_everything_destroyed_returns_to_baseline(caller, rules, models):
    baseline = _counters(caller)
    ctx = caller.call("cuda_init", gpu_device=0).ret
    for _ in range(3):
        m = caller.call("cuda_load_model", ctx=ctx, model_path=bytes(models["tiny"])).ret
        for t in (0.0, 1.0):
            caller.call("cuda_inference_start", model=m, prompt=b"Hi", max_tokens=16,
                        temperature=t, seed=5)
    caller.call("cuda_destroy", ctx=ctx)
    after = _counters(caller)
    if after != baseline:
        raise caller.violation("RES-baseline", f"(tracked bytes, live handles) went {baseline} -> "
                               f"{after} after destroying the context that owned everything")
