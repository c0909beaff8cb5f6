"""Process-wide counters the reports read: codes observed per function, examples run."""

from __future__ import annotations

from collections import Counter
from typing import Any

OBSERVED: dict[str, Counter[str]] = {}
EXAMPLES = Counter[str]()


def observe(fn: str, key: str) -> None:
    OBSERVED.setdefault(fn, Counter())[key] += 1


def example(test: str) -> None:
    EXAMPLES[test] += 1


def reset() -> None:
    OBSERVED.clear()
    EXAMPLES.clear()


def snapshot() -> dict[str, Any]:
    return {"observed": {fn: dict(c) for fn, c in OBSERVED.items()},
            "examples": dict(EXAMPLES)}


def merge(data: dict[str, Any]) -> None:
    for fn, counts in data["observed"].items():
        OBSERVED.setdefault(fn, Counter()).update(counts)
    EXAMPLES.update(data["examples"])
