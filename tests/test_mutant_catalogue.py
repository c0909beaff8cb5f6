"""Every mutant's text replacement still finds its text exactly once in the native sources, so
a change to the native code that moves a line fails here in seconds rather than minutes into
`nox -s mutants`."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.mutants import MUTANTS

NATIVE = Path(__file__).resolve().parents[1] / "native"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_edit_matches_once(mutant) -> None:
    for edit in mutant.edits:
        text = (NATIVE / edit.path).read_text()
        assert text.count(edit.old) == 1, (
            f"{mutant.name}: {edit.path} contains the text to replace {text.count(edit.old)} times")
        assert edit.old != edit.new
