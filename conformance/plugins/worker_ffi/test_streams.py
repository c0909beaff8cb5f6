"""Differential streams: with `--lib A --lib B`, the same Hypothesis-drawn starts give the same
codes and the same token streams (e.g. the host reference and the CUDA build)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.calls import Caller
from conformance.world import World

pytestmark = [pytest.mark.differential, pytest.mark.isolated, pytest.mark.gpu]


def _stream(world: World, prompt: bytes, max_tokens: int, temperature: float, seed: int):
    c = world.caller
    o = c.call("cuda_inference_start", model=world.live("CudaModel"), prompt=prompt, max_tokens=max_tokens,
               temperature=temperature, seed=seed)
    if o.ret is None:
        return (c.code_key(o.code),)
    pieces = []
    while True:
        n = c.call("cuda_inference_next_token", result=o.ret)
        if not n.ret:
            return (c.code_key(n.code), *pieces)
        pieces.append(Caller.piece(n))


@given(prompt=st.text(min_size=0, max_size=10).map(str.encode), max_tokens=st.integers(-2, 40),
       temperature=st.floats(-0.5, 2.5, width=32) | st.just(0.0), seed=st.integers(0, 2**64 - 1))
def test_same_calls_same_streams(worlds, rules, prompt, max_tokens, temperature, seed):
    a, b = worlds
    a.caller.begin_example()
    b.caller.begin_example()
    sa = _stream(a, prompt, max_tokens, temperature, seed)
    sb = _stream(b, prompt, max_tokens, temperature, seed)
    if sa != sb:
        rule = "DIFF-codes" if sa[0] != sb[0] else "DIFF-stream"
        raise b.caller.violation(rule, f"{a.caller.library.label} gave {sa}, "
                                 f"{b.caller.library.label} gave {sb}")
