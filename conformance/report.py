"""Reports of a conformance run: terminal summary, JSON and Markdown (JUnit XML is pytest's).

Every failed test is listed by the rule it broke; the error-code coverage table shows, for each
function, which of its declared codes the run observed (an unobserved code is an untested part
of the contract).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from conformance import contract, stats
from conformance.violations import ContractViolation


class ReportPlugin:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.results: list[dict[str, Any]] = []
        self.started = time.monotonic()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        rep = outcome.get_result()
        if rep.when == "call" or (rep.when == "setup" and rep.outcome != "passed"):
            entry: dict[str, Any] = {"test": item.nodeid, "outcome": rep.outcome,
                                     "duration_s": round(rep.duration, 4)}
            if rep.skipped and isinstance(rep.longrepr, tuple):
                entry["reason"] = rep.longrepr[2]
            exc = _first_violation(call.excinfo.value) if call.excinfo else None
            if isinstance(exc, ContractViolation):
                entry.update(rule=exc.rule.id, spec=str(exc.rule.location), says=exc.rule.says,
                             message=exc.detail, replay=exc.replay,
                             rules=sorted({v.rule.id for v in _violations(call.excinfo.value)}))
            elif rep.failed:
                entry.update(rule=None, message=str(exc)[:2000] if exc else str(rep.longrepr)[:2000])
            self.results.append(entry)

    # ------------------------------------------------------------------ summaries
    def coverage(self) -> list[dict[str, Any]]:
        rows = []
        for fn in contract.load().functions:
            if not fn.errors:
                continue
            seen = stats.OBSERVED.get(fn.name, {})
            rows.append({"function": fn.name, "declared": list(fn.errors),
                         "observed": [k for k in fn.errors if seen.get(k)],
                         "unobserved": [k for k in fn.errors if not seen.get(k)],
                         "calls": sum(seen.values()), "ok": seen.get("OK", 0)})
        return rows

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        examples = sum(stats.EXAMPLES.values())
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        spec = contract.load()
        return {
            "libraries": [str(p) for p in getattr(self.config, "_conformance_libs", [])]
            or self.config.getoption("--lib") or [self.config.getoption("--backend")],
            "interface": spec.interface.name,
            "spec": str(contract.path()),
            "contract_hash": spec.contract_hash,
            "hypothesis_profile": os.environ.get("HYPOTHESIS_PROFILE")
            or self.config.getoption("hypothesis_profile", None) or "ci",
            "wall_s": round(elapsed, 2),
            "examples": examples,
            "examples_per_s": round(examples / elapsed, 1) if elapsed else 0.0,
            "counts": counts,
            "violations": sorted({rule for r in self.results for rule in r.get("rules", [])}),
            "failures": [r for r in self.results if r["outcome"] == "failed"],
            "coverage": self.coverage(),
            "tests": self.results,
        }

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        data = self.summary()
        out_dir = Path(config.getoption("--report-dir"))
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "conformance.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
        (out_dir / "conformance.md").write_text(markdown(data))
        tr = terminalreporter
        tr.section(f"{contract.load().interface.name} conformance")
        tr.write_line(f"{data['counts']}  examples={data['examples']}  "
                      f"{data['examples_per_s']} examples/s  wall={data['wall_s']} s  "
                      f"profile={data['hypothesis_profile']}")
        for f in data["failures"]:
            tr.write_line(f"FAIL {f.get('rule') or '(no rule)'} {f.get('spec', '')}  {f['test']}")
        unobserved = sum(len(r["unobserved"]) for r in data["coverage"])
        declared = sum(len(r["declared"]) for r in data["coverage"])
        tr.write_line(f"error-code coverage: {declared - unobserved}/{declared} declared codes "
                      f"observed; reports in {out_dir}/conformance.{{json,md}}")


def _violations(exc: BaseException) -> list[ContractViolation]:
    """Every broken rule in a failure (Hypothesis groups the distinct ones it found)."""
    if isinstance(exc, ContractViolation):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        return [v for inner in exc.exceptions for v in _violations(inner)]
    return []


def _first_violation(exc: BaseException) -> BaseException:
    """Hypothesis groups distinct failures; report the first broken rule among them."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first_violation(inner)
            if isinstance(found, ContractViolation):
                return found
    return exc


def markdown(data: dict[str, Any]) -> str:
    lines = [f"# {data['interface']} conformance", "",
             f"- libraries: {', '.join(map(str, data['libraries']))}",
             f"- contract hash: `{data['contract_hash']}`",
             f"- profile `{data['hypothesis_profile']}`, {data['examples']} examples, "
             f"{data['examples_per_s']} examples/s, {data['wall_s']} s",
             f"- outcomes: {', '.join(f'{k} {v}' for k, v in sorted(data['counts'].items()))}", ""]
    if data["failures"]:
        lines += ["## Failures", "", "| rule | spec | test | message |", "|---|---|---|---|"]
        for f in data["failures"]:
            msg = (f.get("message") or "").splitlines()[0][:160].replace("|", "\\|")
            lines.append(f"| `{f.get('rule') or '-'}` | {f.get('spec', '')} | `{f['test']}` | {msg} |")
        lines.append("")
    lines += ["## Error-code coverage", "",
              "| function | calls | declared codes observed | not observed |", "|---|---|---|---|"]
    for r in data["coverage"]:
        lines.append(f"| `{r['function']}` | {r['calls']} | {', '.join(r['observed']) or '-'} | "
                     f"{', '.join(r['unobserved']) or '-'} |")
    return "\n".join(lines) + "\n"
