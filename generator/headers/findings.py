"""What the header audit reports: its rule catalogue (in report order), the Finding record with
every location involved, and the report as text, Markdown or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generator import escape
from generator.headers.ir import HeaderSet
from generator.headers.problems import Where

# Rule ID -> what it means; the order is the report's order.
RULES = {
    "AUDIT-constant-conflict": "the same constant or enumerator has different values",
    "AUDIT-declaration-conflict": "a function is declared twice with different types",
    "AUDIT-declared-twice": "a function or type is declared in more than one header",
    "AUDIT-enum-claim": "prose says an enum has no gaps, but its values do",
    "AUDIT-null-rule-conflict": "a global NULL rule contradicts a per-parameter rule",
    "AUDIT-error-channel-null": "the error channel is said to report its own NULL, with nowhere to write it",
    "AUDIT-error-not-in-table": "a doc lists an error code the error table lacks",
    "AUDIT-error-unlisted": "an error code no function lists",
    "AUDIT-undeclared-alias": "two functions with the same signature and doc (an undeclared alias)",
    "AUDIT-bool-false-undocumented": "a boolean result with no documented meaning of false",
    "AUDIT-bool-false-ambiguous": "a boolean result whose false means both an outcome and an error",
    "AUDIT-no-error-channel": "a function that can fail has no error channel",
    "AUDIT-prose-range": "a range stated only in prose",
    "AUDIT-thread-conflict": "a function's thread-safety contradicts its handle type's",
    "AUDIT-undocumented": "a declared function has no doc comment",
    "AUDIT-undeclared": "a documented function that no header declares",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    message: str
    where: tuple[Where, ...]

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "subject": self.subject, "message": self.message,
                "locations": [str(w) for w in self.where]}


def render(findings: list[Finding], fmt: str, hs: HeaderSet) -> str:
    if fmt == "json":
        return json.dumps({
            "headers": list(hs.headers),
            "summary": {"findings": len(findings), "functions": len({f.name for f in hs.functions}),
                        "skipped": len(hs.skipped),
                        "by_rule": {r: n for r in RULES if (n := sum(f.rule == r for f in findings))}},
            "findings": [f.as_json() for f in findings],
            "skipped": [{"kind": s.kind, "name": s.name, "location": str(s.where), "reason": s.reason}
                        for s in hs.skipped],
        }, indent=1) + "\n"
    if fmt == "markdown":
        lines = [f"# Header audit: {_md(', '.join(hs.headers))}", "",
                 f"{len(findings)} finding(s); {len(hs.skipped)} construct(s) skipped.", ""]
        if findings:
            lines += ["| Rule | Subject | Finding | Locations |", "|---|---|---|---|"]
            lines += [f"| {f.rule} | `{_md(f.subject)}` | {_md(f.message)} | "
                      f"{', '.join(str(w) for w in f.where)} |" for f in findings]
        if hs.skipped:
            lines += ["", "## Skipped", "", "| Kind | Name | Location | Why |", "|---|---|---|---|"]
            lines += [f"| {s.kind} | `{_md(s.name)}` | {s.where} | {_md(s.reason)} |" for s in hs.skipped]
        return "\n".join(lines) + "\n"
    out = []
    for f in findings:
        first, *rest = f.where or (Where("?", 0),)
        also = f" (see also {', '.join(str(w) for w in rest)})" if rest else ""
        out.append(f"{first}: {f.rule}: {f.message}{also}")
    for s in hs.skipped:
        out.append(f"{s.where}: skipped {s.kind} {s.name}: {s.reason}")
    out.append(f"{len(findings)} finding(s), {len(hs.skipped)} skipped construct(s).")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return escape.md(text)
