"""Semantic versions: which bump a set of changes needs, and which bump two versions are."""

from __future__ import annotations

from generator.diff.differ import Change
from generator.diff.rules import BUMP_FOR, worst


def required_bump(changes: list[Change]) -> str | None:
    """major / minor / patch, or None when nothing changed."""
    w = worst({c.severity for c in changes})
    return BUMP_FOR[w] if w else None


def version_bump(old: str, new: str) -> str:
    """major / minor / patch / none / downgrade between two semantic versions."""
    o = tuple(int(x) for x in old.split("."))
    n = tuple(int(x) for x in new.split("."))
    if n == o:
        return "none"
    if n < o:
        return "downgrade"
    if n[0] > o[0]:
        return "major"
    return "minor" if n[1] > o[1] else "patch"


_RANK = {"none": 0, "patch": 1, "minor": 2, "major": 3, "downgrade": -1}


def bump_satisfies(actual: str, required: str | None) -> bool:
    return required is None or _RANK[actual] >= _RANK[required]


def next_version(old: str, required: str) -> str:
    major, minor, patch = (int(x) for x in old.split("."))
    if required == "major":
        return f"{major + 1}.0.0"
    if required == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"

