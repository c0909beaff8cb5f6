"""Render a classified diff as text (terminals), JSON (tools) or Markdown (CI summaries)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generator.diff.differ import Change
from generator.diff.rules import SEVERITIES
from generator.diff.source import View
from generator.diff.versions import bump_satisfies, next_version, required_bump, version_bump

_TITLES = {"breaking": "Breaking", "compatible": "Compatible",
           "documentation": "Documentation only"}


@dataclass(frozen=True)
class Report:
    old: View
    new: View
    changes: list[Change]

    @property
    def required(self) -> str | None:
        return required_bump(self.changes)

    @property
    def actual(self) -> str:
        return version_bump(self.old.version, self.new.version)

    @property
    def version_ok(self) -> bool:
        return bump_satisfies(self.actual, self.required) and self.actual != "downgrade"

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.changes if c.severity == s) for s in SEVERITIES}

    def verdict(self) -> str:
        o, n = self.old.version, self.new.version
        if not self.changes:
            return f"no contract changes ({o} -> {n})"
        if self.actual == "downgrade":
            return f"the version went backwards: {o} -> {n}"
        if self.version_ok:
            return f"version {o} -> {n} is a {self.actual} bump, enough for these changes"
        assert self.required is not None
        return (f"these changes need a {self.required} version bump: set interface.version to "
                f"{next_version(o, self.required)} (it is {n})")


def render(report: Report, fmt: str) -> str:
    return {"text": _text, "json": _json, "markdown": _markdown}[fmt](report)


def _text(r: Report) -> str:
    counts = r.counts()
    lines = [f"ffispec diff: {r.new.label} ({r.new.version}) against {r.old.label} "
             f"({r.old.version})",
             f"{len(r.changes)} change(s): " + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES),
             ""]
    for severity in SEVERITIES:
        group = [c for c in r.changes if c.severity == severity]
        if not group:
            continue
        lines.append(f"{_TITLES[severity].upper()} ({len(group)})")
        for c in group:
            lines.append(f"  {c.rule} {c.symbol} [{c.fingerprint}]")
            lines.append(f"      {c.message}")
            lines.append(f"      was {c.old_location or '-'}; now {c.new_location or '-'}")
        lines.append("")
    lines.append(f"verdict: {r.verdict()}")
    return "\n".join(lines) + "\n"


def as_data(r: Report) -> dict[str, Any]:
    return {
        "old": {"source": r.old.label, "version": r.old.version},
        "new": {"source": r.new.label, "version": r.new.version},
        "summary": r.counts(),
        "required_bump": r.required,
        "version_bump": r.actual,
        "version_ok": r.version_ok,
        "verdict": r.verdict(),
        "changes": [c.as_dict() for c in r.changes],
    }


def _json(r: Report) -> str:
    return json.dumps(as_data(r), indent=2, ensure_ascii=False) + "\n"


def _cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _markdown(r: Report) -> str:
    counts = r.counts()
    icon = "✅" if r.version_ok else "❌"
    out = [f"## FFI contract diff: `{r.new.label}` {r.new.version} vs `{r.old.label}` "
           f"{r.old.version}", "",
           f"{icon} {_cell(r.verdict())}", "",
           "| Breaking | Compatible | Documentation only |", "|---|---|---|",
           f"| {counts['breaking']} | {counts['compatible']} | {counts['documentation']} |", ""]
    if r.changes:
        out += ["| Severity | Rule | Symbol | Change | Was | Now | Fingerprint |",
                "|---|---|---|---|---|---|---|"]
        for c in r.changes:
            out.append(f"| {c.severity} | `{c.rule}` | `{_cell(c.symbol)}` | {_cell(c.message)} "
                       f"| {_cell(c.old_location or '—')} | {_cell(c.new_location or '—')} "
                       f"| `{c.fingerprint}` |")
        out.append("")
    return "\n".join(out)
