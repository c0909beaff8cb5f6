"""Differential: with `--lib A --lib B`, every derived negative case gives the same code in
both implementations (e.g. the host reference and the CUDA build, or two releases)."""

from __future__ import annotations

import pytest

from conformance import contract
from conformance.negatives import cases_for

pytestmark = [pytest.mark.differential, pytest.mark.isolated, pytest.mark.gpu]
SPEC = contract.load()


@pytest.mark.parametrize("case", [c for c in cases_for(SPEC) if not isinstance(c.value, str)],
                         ids=lambda c: c.id)
def test_same_negative_codes(worlds, rules, case):
    fn = SPEC.function(case.fn)
    if not all(w.can_call(fn) for w in worlds):
        pytest.skip(f"{fn.name} needs a handle the suite cannot create from the spec")
    codes = []
    for w in worlds:
        args = {**w.valid_args(fn), case.param: case.value}
        codes.append(w.caller.code_key(w.caller.call(case.fn, **args).code))
    if codes[0] != codes[1]:
        raise worlds[1].caller.violation("DIFF-codes", f"{case.id}: {codes[0]} vs {codes[1]}")
