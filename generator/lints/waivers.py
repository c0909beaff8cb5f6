"""`exceptions:` entries waive one rule for named functions; they must name real functions and
rules."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lints.common import problem, suggest
from generator.model import Spec
from generator.problems import Problem

# Every rule ID a lint reports: what an `exceptions:` entry may waive.
KNOWN_RULES = (
    "LINT-duplicate-name", "LINT-duplicate-error-value", "LINT-no-success-code",
    "LINT-unmarked-alias", "LINT-alias-signature", "LINT-dangling-reference",
    "LINT-handle-no-creator", "LINT-handle-creator-type", "LINT-handle-no-destroyer",
    "LINT-handle-destroyer-type", "LINT-destroyer-not-nullable", "LINT-unknown-error",
    "LINT-undeclared-violation", "LINT-unused-error", "LINT-error-param-shape",
    "LINT-fallible-no-errors", "LINT-missing-unknown", "LINT-fallible-needs-error-channel",
    "LINT-out-not-pointer", "LINT-out-written", "LINT-nullable-scalar", "LINT-unknown-type",
    "LINT-len-unknown", "LINT-len-not-integer", "LINT-string-rule-type", "LINT-range-type",
    "LINT-range-empty", "LINT-bool-ambiguous", "LINT-on-error-missing", "LINT-on-error-type",
    "LINT-ownership-missing", "LINT-thread-safety-reference", "LINT-thread-safety-asymmetric",
    "LINT-since-after-version", "LINT-prefix", "LINT-precondition-code",
    "LINT-violation-missing", "LINT-role-missing", "LINT-type-shape", "LINT-http-partial",
    "LINT-target-unsupported", "LINT-reserved-name",
)


def exception_targets(spec: Spec) -> Iterator[Problem]:
    names = {f.name for f in spec.functions}
    rules = {r for r in KNOWN_RULES}
    for i, e in enumerate(spec.exceptions):
        for j, target in enumerate(e.applies_to):
            if target not in names:
                yield problem("LINT-dangling-reference", f"exception {e.id} applies to unknown "
                              f"function {target!r}", e.location,
                              ("exceptions", i, "applies_to", j), suggest(target, names))
        if e.rule not in rules:
            yield problem("LINT-dangling-reference", f"exception {e.id} waives unknown rule "
                          f"{e.rule!r}", e.location, ("exceptions", i, "rule"),
                          suggest(e.rule, rules))
