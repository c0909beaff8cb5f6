"""The HTTP section: its references were resolved while it was normalised (generator.http.resolve);
the problems found then are reported with the rest."""

from __future__ import annotations

from collections.abc import Iterator

from generator.model import Spec
from generator.problems import Problem


def http_section(spec: Spec) -> Iterator[Problem]:
    """References of the HTTP section (fed parameters, error keys, events, links), resolved
    while the section was normalised."""
    if spec.http is not None:
        yield from spec.http.problems
