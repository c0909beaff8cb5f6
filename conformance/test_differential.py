"""Differential: with `--lib A --lib B`, the same calls give the same codes and the same token
streams (e.g. the host reference and the CUDA build, or two releases)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import contract, isolation
from conformance.calls import Caller
from conformance.negatives import cases_for
from conformance.world import LazyWorld, NoDevice, World

pytestmark = [pytest.mark.differential, pytest.mark.isolated, pytest.mark.gpu]
SPEC = contract.load()


@pytest.fixture
def worlds(libraries, spec, rules, models, request):
    out = []
    for lib in libraries[:2]:
        caller = Caller(lib, spec, rules, test=request.node.nodeid)

        def probe(caller: Caller = caller) -> None:  # in a child: the test process keeps off the device
            World.build(caller, models).teardown()

        try:
            isolation.run_forked(probe, rules, f"building the fixtures on {lib.label}")
        except NoDevice as exc:
            pytest.skip(str(exc))
        out.append(LazyWorld(caller, models))
    return out


def _stream(world: World, prompt: bytes, max_tokens: int, temperature: float, seed: int):
    c = world.caller
    o = c.call("cuda_inference_start", model=world.model, prompt=prompt, max_tokens=max_tokens,
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
    a.caller.trace.begin_example()
    b.caller.trace.begin_example()
    sa = _stream(a, prompt, max_tokens, temperature, seed)
    sb = _stream(b, prompt, max_tokens, temperature, seed)
    if sa != sb:
        rule = "DIFF-codes" if sa[0] != sb[0] else "DIFF-stream"
        raise b.caller.violation(rule, f"{a.caller.library.label} gave {sa}, "
                                 f"{b.caller.library.label} gave {sb}")


@pytest.mark.parametrize("case", [c for c in cases_for(SPEC) if not isinstance(c.value, str)],
                         ids=lambda c: c.id)
def test_same_negative_codes(worlds, rules, case):
    fn = SPEC.function(case.fn)
    codes = []
    for w in worlds:
        args = {**w.valid_args(fn), case.param: case.value}
        codes.append(w.caller.code_key(w.caller.call(case.fn, **args).code))
    if codes[0] != codes[1]:
        raise worlds[1].caller.violation("DIFF-codes", f"{case.id}: {codes[0]} vs {codes[1]}")
