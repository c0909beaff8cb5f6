"""`exceptions:` entries waive one rule for named functions; they must name real functions and
rules."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lints.common import problem, suggest
from generator.lints.rules import LINT_RULES
from generator.model import Spec
from generator.problems import Problem


def exception_targets(spec: Spec) -> Iterator[Problem]:
    names = {f.name for f in spec.functions}
    rules = set(LINT_RULES)
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
