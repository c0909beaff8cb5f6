"""Spec fuzz: Hypothesis mutations of every spec in spec_harness.SPECS (a few hundred in the
`ci` profile, thousands with `--hypothesis-profile thorough`). Whatever a mutation does,
`ffispec generate` exits with 0, 2, 4 or 8, prints no traceback, and stays inside a time and a
memory bound (a child process that is killed past them); a mutation lint accepts renders
artefacts whose header compiles as C and C++, whose exports compile against the native core,
and whose bindings import without side effects."""

from __future__ import annotations

import copy
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_harness import (
    EXIT_STATUSES,
    PAYLOADS,
    SPECS,
    SpecRunner,
    compile_exports,
    compile_header,
)

SECONDS = float(os.environ.get("SPEC_FUZZ_SECONDS", "10"))
MEMORY = 768 * 1024 * 1024
# Accepted mutations compile; the distinct headers and boundaries are capped per run so the
# `ci` profile stays under a minute (thorough compiles many more).
MAX_HEADER_COMPILES = 15 if settings.default.max_examples <= 300 else 200
MAX_EXPORT_COMPILES = 2 if settings.default.max_examples <= 300 else 20

NAMES = ["lambda", "None", "self", "class", "int", "char", "struct", "delete", "template",
         "fn", "match", "type", "async", "await", "unsafe", "impl", "_Bool", "errno", "main",
         "NULL", "true", "x\n", "a b", "", "9lives", "é", "__init__", "cuda_", "worker_ffi"]
VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 1.5, -0.0, 1e308,
    "nan", "infinity", "1_0", "0x10", " 1", "1.0", "one", "1.0.0\n", "01.2.3", "1.2", "",
    "NULL", "false", "int*", "const char*", "void", "char**", "struct x", "uint64_t *",
    "../../escape.h", "/abs/path.h", "a/../../b.h", "ok.h\n", "UNKNOWN", "OK",
    [], {}, [1, 2], {"x": 1}, ["a", "b"], [None], {"min": "0"}, {"min": [1]},
    *PAYLOADS, *NAMES,
]


def _paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*path, i))


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn, name: str) -> str:
    data = copy.deepcopy(_BASE[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent, key = _parent(data, path), path[-1]
        kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate",
                                     "unknown-key", "suffix", "swap"]))
        if kind == "replace":
            parent[key] = draw(st.sampled_from(VALUES) | st.text(max_size=8) |
                               st.integers() | st.floats(allow_nan=False, allow_infinity=False))
        elif kind == "delete":
            del parent[key]
        elif kind == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif kind == "unknown-key" and isinstance(parent[key], dict):
            parent[key][draw(st.sampled_from(["extra", "Doc", "nam", "<<"]))] = 1
        elif kind == "suffix" and isinstance(parent[key], str):
            parent[key] += draw(st.sampled_from(["\n", " ", "_x", "*", "$", "\\", "'"]))
        elif kind == "swap" and isinstance(parent, list) and len(parent) > 1:
            other = draw(st.integers(0, len(parent) - 1))
            parent[key], parent[other] = parent[other], parent[key]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


_BASE = {name: yaml.safe_load(path.read_text(encoding="utf-8")) for name, path in SPECS.items()}


class Budget:
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.headers: set[str] = set()
        self.exports: set[str] = set()


@pytest.fixture(scope="module")
def runner() -> Iterator[SpecRunner]:
    r = SpecRunner(seconds=SECONDS, memory=MEMORY)
    yield r
    r.close()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_mutated_specs_exit_cleanly_and_accepted_ones_build(name: str, runner: SpecRunner,
                                                            tmp_path: Path) -> None:
    budget = Budget()

    # The profile's examples are shared between the specs.
    @settings(max_examples=max(50, settings.default.max_examples // len(SPECS)))
    @given(mutated(name))
    def check(text: str) -> None:
        outcome = runner.run(text)
        if outcome.killed == "time":  # a loaded machine: one retry with three times the bound
            outcome = runner.run(text, seconds=3 * SECONDS)
        assert not outcome.killed, f"ffispec ran past its {outcome.killed} bound"
        assert not outcome.traceback, outcome.traceback
        assert outcome.status in EXIT_STATUSES, (outcome.status, outcome.output)
        assert "Traceback" not in outcome.output, outcome.output
        budget.outcomes[str(outcome.status)] += 1
        if outcome.status != 0:
            assert "error[" in outcome.output, outcome.output  # a rule ID names the problem
            return
        assert not outcome.side_effect, "importing the generated bindings created a file"
        assert outcome.import_error == "", outcome.import_error
        artefacts = outcome.artefacts
        header_path = next(p for p in artefacts if p.endswith(".h") and "_cdef" not in p)
        digest = hashlib.sha256(artefacts[header_path].encode()).hexdigest()
        if digest not in budget.headers and len(budget.headers) < MAX_HEADER_COMPILES:
            budget.headers.add(digest)
            assert compile_header(artefacts[header_path], tmp_path) == []
        boundary = "".join(t for p, t in sorted(artefacts.items()) if p.endswith((".cpp", ".hpp")))
        digest = hashlib.sha256((boundary + artefacts[header_path]).encode()).hexdigest()
        if boundary and digest not in budget.exports and len(budget.exports) < MAX_EXPORT_COMPILES:
            budget.exports.add(digest)
            assert compile_exports(artefacts, header_path, tmp_path) == ""

    check()
    total = sum(budget.outcomes.values())
    assert total >= min(settings.default.max_examples // len(SPECS), 100), budget.outcomes
    # Both sides must be exercised: mutations lint refuses and mutations it accepts.
    assert budget.outcomes["2"] > 0 and budget.outcomes["0"] > 0, budget.outcomes
    print(f"{name}: {total} mutations, exit statuses {dict(budget.outcomes)}, "
          f"{len(budget.headers)} headers and {len(budget.exports)} boundaries compiled")
