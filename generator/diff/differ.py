"""The classifier's building blocks: a `Change` (rule, both locations, values before and after,
stable fingerprint) and the `Differ` that collects them for every comparison module."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from generator.diff.rules import rule
from generator.diff.source import View
from generator.normalise import canonical_json


@dataclass(frozen=True)
class Change:
    rule: str
    severity: str
    level: str
    symbol: str
    message: str
    before: Any
    after: Any
    old_location: str | None
    new_location: str | None

    @property
    def fingerprint(self) -> str:
        raw = f"{self.rule}:{self.symbol}:{canonical_json(self.before)}:" \
              f"{canonical_json(self.after)}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]

    def summary(self) -> str:
        """One line for the lock document and gate messages."""
        return f"{self.severity}: {self.rule} {self.symbol}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "level": self.level,
                "symbol": self.symbol, "message": self.message, "before": self.before,
                "after": self.after, "old_location": self.old_location,
                "new_location": self.new_location, "fingerprint": self.fingerprint}


class Differ:
    """Collects changes; `emit` resolves the rule and the locations on both sides."""

    def __init__(self, old: View, new: View):
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def emit(self, rule_id: str, symbol: str, path: tuple[str, ...], before: Any = None,
             after: Any = None, detail: str = "", new_path: tuple[str, ...] | None = None) -> None:
        r = rule(rule_id)
        message = f"{r.explanation} ({detail})" if detail else r.explanation
        self.changes.append(Change(r.id, r.severity, r.level, symbol, message, before, after,
                                   self.old.where(*path),
                                   self.new.where(*(new_path if new_path is not None else path))))

    def field(self, rule_id: str, symbol: str, path: tuple[str, ...], old: dict[str, Any],
              new: dict[str, Any], key: str, label: str | None = None) -> None:
        """Emit `rule_id` when `key` differs between two mappings."""
        if old.get(key) != new.get(key):
            self.emit(rule_id, symbol, (*path, key), old.get(key), new.get(key),
                      f"{label or key}: {_show(old.get(key))} -> {_show(new.get(key))}")


    def unclassified(self, symbol: str, path: tuple[str, ...], old: dict[str, Any],
                     new: dict[str, Any], known: frozenset[str]) -> None:
        """Safety net: a differing key that no rule looks at is reported as breaking."""
        for key in sorted((old.keys() | new.keys()) - known):
            if old.get(key) != new.get(key):
                self.emit("CONTRACT-unclassified", symbol, (*path, key), old.get(key),
                          new.get(key), f"field {key!r}")


def _show(value: Any) -> str:
    text = canonical_json(value) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."

