"""Load a spec file into the validated, normalised model, or raise SpecError with every problem."""

from __future__ import annotations

from pathlib import Path

from generator.lints import run_lints
from generator.loader import load_and_validate
from generator.model import Spec
from generator.normalise import normalise
from generator.problems import SpecError

DEFAULT_SPEC = "spec/worker_ffi.yaml"


def load_spec(path: str | Path = DEFAULT_SPEC) -> Spec:
    raw = load_and_validate(path)
    try:
        spec = normalise(raw)
    except ValueError as exc:  # a C type the schema pattern let through but the parser refuses
        from generator.problems import Location, Problem

        raise SpecError([Problem("SPEC-invalid-value", str(exc), Location(str(path), 1, 1))]) from None
    problems = run_lints(spec)
    if problems:
        raise SpecError(problems)
    return spec
