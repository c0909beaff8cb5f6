"""Semantic lints: the rules a JSON Schema cannot express. Each finding has a stable rule ID
from the catalogue in rules.py (LINT_RULES), the spec location and a fix hint. An
`exceptions:` entry in the spec can waive one rule for named functions, with a reason that the
lock document prints.

One module per area (names, handles, errors, parameters, types and targets, threads, HTTP,
waivers, agreement with the included headers); LINTS runs them in a fixed order, which is the
order of findings that share a location."""

from __future__ import annotations

from generator.lints import (
    declared,
    errors,
    handles,
    http,
    names,
    parameters,
    threads,
    types_and_targets,
    waivers,
)
from generator.lints.common import Lint
from generator.lints.rules import LINT_RULES
from generator.model import Spec
from generator.problems import Problem

__all__ = ["LINT_RULES", "LINTS", "Lint", "run_lints"]

LINTS: tuple[Lint, ...] = (
    names.duplicate_names,
    errors.duplicate_error_values,
    names.unaliased_duplicates,
    names.aliases,
    handles.handles,
    errors.error_references,
    errors.error_channel,
    parameters.parameters,
    types_and_targets.types_and_targets,
    parameters.returns,
    threads.thread_safety,
    names.versions_and_groups,
    waivers.exception_targets,
    http.http_section,
    names.reserved_names,
    declared.declarations,
)


def run_lints(spec: Spec, tolerate_errors: bool = False) -> list[Problem]:
    """Every finding of every lint. With `tolerate_errors` (the schema already rejected part of
    the document), a lint that fails on a value the schema refused is skipped instead of
    raising: it was looking at a node that is not a valid spec."""
    waived = {(fn, e.rule) for e in spec.exceptions for fn in e.applies_to}
    problems: list[Problem] = []
    seen: set[Problem] = set()
    for check in LINTS:
        try:
            found = list(check(spec))
        except Exception:
            if not tolerate_errors:
                raise
            continue
        for p in found:
            subject = p.path[1] if len(p.path) > 1 and p.path[0] == "functions" else None
            fn_name = spec.functions[subject].name if isinstance(subject, int) else None
            exact = _pinpoint(spec, p)
            # A finding about a shared node (the function every error channel names for its
            # detail) is reported once, not once per function that reaches it.
            if (fn_name, p.rule) not in waived and exact not in seen:
                seen.add(exact)
                problems.append(exact)
    return problems


def _pinpoint(spec: Spec, p: Problem) -> Problem:
    """Point at the exact node the path names (an item of `errors:`, a key), not at the
    enclosing function, when the source knows where it is."""
    exact = spec.locations.get(p.path) if spec.locations else None
    if exact is None or exact == p.location:
        return p
    return Problem(p.rule, p.message, exact, p.path, p.hint)
