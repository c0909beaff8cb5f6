"""The lock gate of `ffispec check`.
 a spec that differs from the locked baseline must carry the version bump its changes
need (breaking -> major, compatible -> minor, documentation -> patch). Exit bits: 8 for a
breaking change without a major bump, 4 for any other change without its bump, 2 when the
baseline itself is corrupt. A properly bumped spec that is not locked yet passes with a note.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from generator.diff import diff_views
from generator.diff.lines import lines_from_model
from generator.diff.report import Report
from generator.diff.source import baseline_view, spec_view
from generator.exitcodes import EXIT_BREAKING, EXIT_DRIFT, EXIT_OK, EXIT_SPEC
from generator.lock.state import BASELINE, BaselineError, digest, read_baseline, view_of
from generator.model import Spec


def relock_hint(version: str) -> str:
    return (f"fix: bump interface.version, add a changelog entry, run `ffispec generate`, then "
            f"`ffispec lock` (while lock {version} is unpublished, `ffispec lock --amend` "
            "replaces it instead); `ffispec diff` prints the full report")


def check(spec: Spec, root: Path, lines: Mapping[str, int] | None = None) -> int:
    """Exit bits for `ffispec check`; 0 while no baseline exists yet."""
    try:
        baseline = read_baseline(root / BASELINE)
    except BaselineError as exc:
        print(f"{exc}", file=sys.stderr)
        return EXIT_SPEC
    if baseline is None:
        return EXIT_OK
    lock = baseline["lock"]
    if lock["contract_hash"] == spec.contract_hash and \
            lock["view_sha256"] == digest(view_of(spec)):
        return EXIT_OK
    old = baseline_view(baseline)
    # The same source lines `ffispec diff` uses, so both name the same line for a change.
    new = spec_view(spec, lines if lines is not None else lines_from_model(spec), spec.source)
    report = Report(old, new, diff_views(old, new))
    if report.version_ok and report.actual != "none":
        print(f"note: {spec.source} is version {spec.interface.version} with "
              f"{len(report.changes)} change(s) against lock {lock['version']}, not locked yet; "
              "run `ffispec lock` when it is final")
        return EXIT_OK
    print(f"{BASELINE}: lock gate: {spec.source} changes locked contract {lock['version']} "
          "without the version bump the changes need:")
    for c in report.changes:
        print(f"  {c.severity}: {c.rule} {c.symbol}: {c.message} "
              f"(now {c.new_location or '-'}; locked at {c.old_location or '-'}) "
              f"[{c.fingerprint}]")
    print(f"verdict: {report.verdict()}")
    print(relock_hint(lock["version"]))
    return EXIT_BREAKING if report.required == "major" else EXIT_DRIFT
