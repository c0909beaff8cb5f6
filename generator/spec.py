"""The one load pipeline: YAML (bounded, line-accurate) -> JSON Schema -> the frozen model ->
semantic lints, raising SpecError once with every problem. `check`, `generate`, `lint`, `lock`,
`diff` and `verify-lock` all load through here, so they agree on what is valid and where."""

from __future__ import annotations

import tomllib
from pathlib import Path

from generator.lints import run_lints
from generator.loader import RawSpec, load_raw, validate_schema
from generator.model import Spec
from generator.normalise import TypeSyntaxError, normalise
from generator.problems import Location, Problem, SpecError

FALLBACK_SPEC = "spec/spec.yaml"


def default_spec(directory: str | Path = ".") -> str:
    """The spec a command uses without --spec: `[tool.ffispec] spec` of the project's
    pyproject.toml, else the one YAML file in spec/, else spec/spec.yaml."""
    base = Path(directory)
    try:
        with open(base / "pyproject.toml", "rb") as fh:
            configured = tomllib.load(fh).get("tool", {}).get("ffispec", {}).get("spec")
        if isinstance(configured, str):
            return configured
    except (OSError, tomllib.TOMLDecodeError):
        pass
    found = sorted(p.relative_to(base).as_posix() for p in (base / "spec").glob("*.yaml"))
    return found[0] if len(found) == 1 else FALLBACK_SPEC


def type_problem(exc: TypeSyntaxError) -> Problem:
    return Problem("SPEC-invalid-type", str(exc), exc.location, exc.path,
                   "write a C type as the library's header does (`const char* const*`, "
                   "`unsigned long long`); name function pointer types under `types:`")


def load_spec(path: str | Path) -> Spec:
    return check_raw(load_raw(path))


def check_raw(raw: RawSpec) -> Spec:
    """The validated model of a parsed spec, or SpecError with every problem: schema problems
    first (root causes), then the lint findings a model could still show (cascades)."""
    spec, findings = review_raw(raw)
    if findings:
        raise SpecError(findings)
    return spec


def review_raw(raw: RawSpec) -> tuple[Spec, list[Problem]]:
    """The model of a schema-valid spec and its lint findings, for reviewing work in progress
    (`ffispec diff` classifies a spec that still fails lint). SpecError when the schema
    rejects the document, with the lint findings a model could still show listed after the
    schema problems."""
    schema_problems = validate_schema(raw)
    try:
        spec = normalise(raw)
    except TypeSyntaxError as exc:  # a C type the schema pattern let through but the parser refuses
        raise SpecError([*schema_problems, type_problem(exc)]) from None
    except ValueError as exc:
        raise SpecError([*schema_problems, Problem("SPEC-invalid-value", str(exc),
                                                   Location(raw.file, 1, 1))]) from None
    except Exception:
        if not schema_problems:
            raise  # a schema-valid spec the model cannot hold is a bug in ffispec
        # The structure is too broken to build a model from; the schema problems say why.
        raise SpecError(schema_problems) from None
    # Semantic lints run even when the schema found problems, as long as a model could be built,
    # so one run reports everything; a node the schema already rejected is not reported twice,
    # and a lint that trips over such a node is skipped (its findings would only be cascades).
    broken = [p.path for p in schema_problems]
    lint_problems = [p for p in run_lints(spec, tolerate_errors=bool(schema_problems))
                     if not any(p.path[:len(b)] == b for b in broken)]
    if schema_problems:
        raise SpecError(schema_problems, cascades=lint_problems)
    return spec, sorted(lint_problems, key=lambda p: (p.location.line, p.location.column, p.rule))
