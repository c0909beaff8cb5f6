"""Thread safety from the annotations: every `safe` function hammered from many threads at
once (barrier-started, results compared with a single-threaded reference), and the thread-local
error detail (the `last_error_detail` role) read by each thread as its own."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from conformance import contract
from conformance.calls import NULL, Caller, Fixed, HandleRef, channel_kind, has_error_out_param
from conformance.world import is_capacity

SPEC = contract.load()
HOOKS = contract.hooks()
SAFE = [f for f in SPEC.functions if f.thread_safety.cls == "safe" and not f.creates
        and not f.destroys and not HOOKS.is_fault(f)]
DETAIL = next((f for f in SPEC.functions if f.role == "last_error_detail"), None)
THREADS, ROUNDS = 8, 150

pytestmark = [pytest.mark.isolated, pytest.mark.gpu]


def hammer(n: int, body) -> list[Any]:
    # Switch threads as often as possible so that native calls really interleave.
    sys.setswitchinterval(1e-6)
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = body(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def _raw_call(caller: Caller, fn, args: dict[str, Any]):
    """A lean call (no trace) for hot loops: (return, code)."""
    ffi, ec = caller.ffi, caller.ffi.new("int*", -1)
    cargs = []
    for p in fn.params:
        value = args.get(p.name)
        if p.is_error_out:
            cargs.append(ec)
        elif value is None and p.direction == "out":
            cargs.append(ffi.NULL if p.nullable else ffi.new(p.ctype.c))
        elif value is None and is_capacity(fn, p):  # the length of the buffer it measures
            buf = next(args.get(q.name) for q in fn.params if q.len == p.name)
            cargs.append(len(buf) if isinstance(buf, bytes) else 256)
        elif isinstance(value, HandleRef):
            cargs.append(value.cdata)
        elif value is _NULL or value is NULL:
            cargs.append(ffi.NULL)
        elif isinstance(value, Fixed):
            cargs.append(ffi.cast(p.ctype.c, value.value))
        else:
            cargs.append(value)
    ret = getattr(caller.lib, fn.name)(*cargs)
    if fn.returns.ctype.is_string:
        ret = None if ret == ffi.NULL else ffi.string(ret)
    elif fn.returns.handle or fn.returns.ctype.pointer:
        ret = ret != ffi.NULL
    if channel_kind(fn) == "status":
        return ret, ret
    return ret, (ec[0] if has_error_out_param(fn) else None)


_NULL = object()


@pytest.mark.parametrize("fn", SAFE, ids=lambda f: f.name)
def test_safe_function_from_many_threads(fn, world, caller, rules):
    if not world.can_call(fn):
        pytest.skip(f"{fn.name} needs a handle the suite cannot create from the spec")
    args = world.valid_args(fn)
    reference = _raw_call(caller, fn, args)
    caller.trace.note(f"{THREADS} threads call {fn.name} {ROUNDS} times each at once")
    rule = f"THR-{fn.name}-safe"

    def body(_: int):
        bad = []
        for _ in range(ROUNDS):
            got = _raw_call(caller, fn, args)
            if got != reference:
                bad.append(got)
        return bad

    bad = [b for r in hammer(THREADS, body) for b in r]
    if bad:
        raise caller.violation(rule, f"{len(bad)} of {THREADS * ROUNDS} concurrent calls differed "
                               f"from the single-threaded result {reference}: e.g. {bad[:3]}")


# Safe functions that fail on a NULL handle and succeed on a live one (the detail test's tools).
FALLIBLE_SAFE = [f for f in SAFE if f.fallible and len(f.handle_params) == 1]


@pytest.mark.skipif(DETAIL is None or DETAIL.thread_safety.cls != "safe" or not FALLIBLE_SAFE,
                    reason="the spec declares no thread-safe last_error_detail role, or no safe "
                           "function taking one handle to make it fail")
def test_error_detail_is_per_thread(world, caller, rules):
    """Threads interleave failing and succeeding calls of different `safe` functions; each must
    read the detail of its own last call (the detail is per thread)."""
    ffi, detail = caller.ffi, getattr(caller.lib, DETAIL.name)
    rule = f"THR-{DETAIL.name}-safe"
    usable = [f for f in FALLIBLE_SAFE if world.can_call(f)]
    plans = []
    for fn in usable:  # (fn, failing args, succeeding args, the failure's detail)
        ok_args = world.valid_args(fn)
        bad_args = {**ok_args, fn.handle_params[0].name: _NULL}
        _raw_call(caller, fn, bad_args)
        failed_detail = ffi.string(detail())
        _raw_call(caller, fn, ok_args)
        if failed_detail and not ffi.string(detail()):
            plans.append((fn, bad_args, ok_args, failed_detail))
    if not plans:
        pytest.skip("no safe function both fails with a detail and succeeds without one")

    def body(i: int):
        fn, bad_args, ok_args, want = plans[i % len(plans)]
        bad = []
        for k in range(ROUNDS * 10):
            fail = (i + k) % 3 == 0
            _raw_call(caller, fn, bad_args if fail else ok_args)
            text = ffi.string(detail())
            if (fail and text != want) or (not fail and text):
                bad.append((fn.name, fail, text))
        return bad

    # First a fixed interleaving, so a shared detail is caught on every run: A fails, B succeeds
    # (which clears B's detail), then A reads its detail, which must still be A's failure.
    fn, bad_args, ok_args, want = plans[0]
    a_failed, b_done, seen = threading.Event(), threading.Event(), []

    def thread_a() -> None:
        _raw_call(caller, fn, bad_args)
        a_failed.set()
        b_done.wait(10)
        seen.append(ffi.string(detail()))

    def thread_b() -> None:
        a_failed.wait(10)
        _raw_call(caller, fn, ok_args)
        b_done.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    if seen[:1] != [want]:
        raise caller.violation(rule, f"thread A's failed {fn.name} left detail {seen[:1]!r} after "
                               f"thread B's successful call (expected {want!r}): the detail is not "
                               "per thread")

    bad = [b for r in hammer(THREADS, body) for b in r]
    if bad:
        raise caller.violation(rule, f"{len(bad)} of {THREADS * ROUNDS * 10} calls read a detail "
                               f"that was not their own, e.g. {bad[:3]}")
