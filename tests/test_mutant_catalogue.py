"""Every mutant's text replacement still finds its text exactly once in the native sources, so
a change to the native code that moves a line fails here in seconds rather than minutes into
`nox -s mutants`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.mutants import FIRST_TRY, MUTANTS

NATIVE = Path(__file__).resolve().parents[1] / "native"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_edit_matches_once(mutant) -> None:
    for edit in mutant.edits:
        text = (NATIVE / edit.path).read_text()
        assert text.count(edit.old) == 1, (
            f"{mutant.name}: {edit.path} contains the text to replace {text.count(edit.old)} times")
        assert edit.old != edit.new


def test_first_tries_name_mutants_and_tests_the_suite_collects() -> None:
    names = {m.name for m in MUTANTS}
    assert set(FIRST_TRY) <= names, f"hints for unknown mutants: {sorted(set(FIRST_TRY) - names)}"
    repo = NATIVE.parent
    res = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          *sorted(set(FIRST_TRY.values()))], cwd=repo, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.fspath(repo)})
    collected = {line for line in res.stdout.splitlines() if "::" in line}
    missing = sorted(set(FIRST_TRY.values()) - collected)
    assert not missing, f"FIRST_TRY names tests the suite no longer has: {missing}\n{res.stdout[-1500:]}"
