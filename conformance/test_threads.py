"""Thread safety from the annotations: every `safe` function hammered from many threads at
once (barrier-started, results compared with a single-threaded reference), independent
contexts used in parallel, and cancel racing next_token on one handle."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from conformance import contract
from conformance.calls import Caller

SPEC = contract.load()
SAFE = [f for f in SPEC.functions if f.thread_safety.cls == "safe" and not f.creates]
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
        if p.is_error_out:
            cargs.append(ec)
        elif p.handle:
            cargs.append(args[p.name].cdata)
        else:
            cargs.append(args[p.name])
    ret = getattr(caller.lib, fn.name)(*cargs)
    if fn.returns.ctype.is_string:
        ret = ffi.string(ret)
    return ret, (ec[0] if fn.has_error_channel else None)


@pytest.mark.parametrize("fn", SAFE, ids=lambda f: f.name)
def test_safe_function_from_many_threads(fn, world, caller, rules):
    args = world.valid_args(fn)
    if fn.name == "cuda_testing_fail_allocation":
        args["nth"] = 0
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


def test_error_detail_is_per_thread(world, caller, rules):
    """Threads interleave failing and succeeding calls of different `safe` functions; each must
    read the detail of its own last call (the detail is per thread)."""
    fallible = [f for f in SAFE if f.fallible and len(f.handle_params) == 1]
    ffi, detail = caller.ffi, caller.lib.cuda_last_error_detail

    def body(i: int):
        fn = fallible[i % len(fallible)]
        native = getattr(caller.lib, fn.name)
        live = world.live(fn.handle_params[0].handle).cdata
        bad = []
        for k in range(ROUNDS * 10):
            fail = (i + k) % 3 == 0
            args = [ffi.NULL if fail else live] + ([ffi.new("int*")] if fn.has_error_channel else [])
            native(*args)
            text = ffi.string(detail())
            if (fail and not text.startswith(fn.name.encode())) or (not fail and text):
                bad.append((fn.name, fail, text))
        return bad

    # First a fixed interleaving, so a shared detail is caught on every run: A fails, B succeeds
    # (which clears B's detail), then A reads its detail, which must still be A's failure.
    fn = fallible[0]
    native = getattr(caller.lib, fn.name)
    live = world.live(fn.handle_params[0].handle).cdata
    extra = [ffi.new("int*")] if fn.has_error_channel else []
    a_failed, b_done, seen = threading.Event(), threading.Event(), []

    def thread_a() -> None:
        native(ffi.NULL, *extra)
        a_failed.set()
        b_done.wait(10)
        seen.append(ffi.string(detail()))

    def thread_b() -> None:
        a_failed.wait(10)
        native(live, *extra)
        b_done.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    if not seen or not seen[0].startswith(fn.name.encode()):
        raise caller.violation("THR-cuda_last_error_detail-safe",
                               f"thread A's failed {fn.name} left detail {seen[:1]!r} after thread B's "
                               "successful call: the detail is not per thread")

    bad = [b for r in hammer(THREADS, body) for b in r]
    if bad:
        raise caller.violation("THR-cuda_last_error_detail-safe",
                               f"{len(bad)} of {THREADS * ROUNDS * 10} calls read a detail that was "
                               f"not their own, e.g. {bad[:3]}")


def test_independent_contexts_in_parallel(caller, rules, models):
    path = bytes(models["tiny"])
    before = caller.lib.cuda_testing_live_handles()

    def body(i: int):
        ec = caller.ffi.new("int*", -1)
        streams = []
        for _ in range(3):
            ctx = caller.lib.cuda_init(0, ec)
            used = caller.ffi.new("uint64_t*")
            model = caller.lib.cuda_load_model(ctx, path, used, ec)
            r = caller.lib.cuda_inference_start(model, b"Hello", 32, 0.0, 0, ec)
            buf, text = caller.ffi.new("char[]", 256), b""
            while caller.lib.cuda_inference_next_token(r, buf, 256, caller.ffi.NULL, ec):
                text += caller.ffi.string(buf)
            streams.append((ec[0], text))
            caller.lib.cuda_destroy(ctx)
        return streams

    results = hammer(4, body)
    flat = {s for r in results for s in r}
    if len(flat) != 1 or next(iter(flat))[0] != 0:
        raise caller.violation("THR-independent-contexts",
                               f"parallel contexts gave different streams or codes: {sorted(flat)[:3]}")
    if caller.lib.cuda_testing_live_handles() != before:
        raise caller.violation("THR-independent-contexts", "parallel create/destroy leaked handles")


@pytest.mark.parametrize("delay_pieces", [0, 1, 3])
def test_cancel_races_next_token(world, caller, rules, delay_pieces):
    for attempt in range(20):
        r = caller.call("cuda_inference_start", model=world.model, prompt=b"Hi", max_tokens=2048,
                        temperature=1.0, seed=attempt).ret
        barrier = threading.Barrier(2)
        codes: list[int] = []

        def consume(r=r, barrier=barrier, codes=codes):  # bound now: the thread runs this attempt's
            ec, buf = caller.ffi.new("int*", -1), caller.ffi.new("char[]", 256)
            barrier.wait()
            while caller.lib.cuda_inference_next_token(r.cdata, buf, 256, caller.ffi.NULL, ec):
                pass
            codes.append(ec[0])

        t = threading.Thread(target=consume)
        t.start()
        barrier.wait()
        ec = caller.ffi.new("int*", -1)
        caller.lib.cuda_inference_cancel(r.cdata, ec)
        t.join(timeout=30)
        if t.is_alive():
            raise caller.violation("THR-cancel-races-next-token", "next_token never stopped after cancel")
        final = caller.call("cuda_inference_next_token", result=r)
        if codes[0] not in (0, caller.keys["CANCELLED"]) or caller.code_key(final.code) != "CANCELLED":
            raise caller.violation("THR-cancel-races-next-token",
                                   f"racing cancel gave stream end {caller.code_key(codes[0])} and then "
                                   f"{caller.code_key(final.code)}, expected CANCELLED")
        caller.call("cuda_inference_free", result=r)
