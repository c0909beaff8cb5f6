"""The worker's concurrency promises beyond the `safe` class: independent contexts used from
several threads at once, and cancel racing next_token on one handle (`concurrent_with`)."""

from __future__ import annotations

import threading

import pytest

from conformance.test_threads import hammer

pytestmark = [pytest.mark.isolated, pytest.mark.gpu]


@pytest.fixture
def models(plugin):
    return plugin.models


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
        r = caller.call("cuda_inference_start", model=world.live("CudaModel"), prompt=b"Hi", max_tokens=2048,
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
