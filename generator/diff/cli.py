"""`ffispec diff`: classify every change between the spec and the lock baseline, another spec
file or a git revision; the report as text, JSON or Markdown."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from collections.abc import Mapping
from pathlib import Path

from generator.diff import diff_views
from generator.diff.report import Report, render
from generator.diff.rules import RULES, SEVERITIES
from generator.diff.source import SourceError, View, load_against, review_spec_with_lines, spec_view
from generator.exitcodes import EXIT_BREAKING, EXIT_OK, EXIT_SPEC
from generator.lock.state import BASELINE
from generator.model import Spec
from generator.problems import Problem, SpecError


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    del command
    parser.add_argument("--against", metavar="BASELINE|SPEC|GIT_REF",
                        help=f"what to compare with: a lock baseline (.json), a spec file, or a "
                             f"git revision (REF or REF:PATH); default: {BASELINE}")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    parser.add_argument("--fail-on", choices=SEVERITIES,
                        help="exit 8 if any change of this severity or worse is found")
    parser.add_argument("--list-rules", action="store_true",
                        help="print the rule catalogue (ID, severity, level, meaning) and exit")
    parser.set_defaults(func=cmd_diff)


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def cmd_diff(args: argparse.Namespace) -> int:
    if args.list_rules:
        for r in RULES.values():
            print(f"{r.id:<32} {r.severity:<13} {r.level:<4} {r.explanation}")
        return EXIT_OK
    root = Path(args.root)
    try:
        spec, lines, findings, old = _load_sides(args.against, args.spec, root)
    except SourceError as exc:
        _err(str(exc))
        return EXIT_SPEC
    status = EXIT_OK
    if findings:
        # Work in progress: classify it anyway, after saying why it cannot be locked yet.
        print(SpecError(findings).render(), file=sys.stderr)
        _err(f"{args.spec} fails lint ({len(findings)} problem(s) above); the changes are "
             "classified below, but it cannot be generated or locked until they are fixed")
        status = EXIT_SPEC
    new = spec_view(spec, lines, args.spec)
    report = Report(old, new, diff_views(old, new))
    text = render(report, args.format)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            _err(f"--output {args.output}: cannot write: {exc.strerror}")
            return EXIT_SPEC
        print(f"wrote {args.output}: {len(report.changes)} change(s); {report.verdict()}")
    else:
        sys.stdout.write(text)
    if args.fail_on:
        limit = SEVERITIES.index(args.fail_on)
        if any(SEVERITIES.index(c.severity) <= limit for c in report.changes):
            status |= EXIT_BREAKING
    return status


PARALLEL_BYTES = 256 * 1024


def _load_sides(against: str | None, spec_path: str, root: Path
                ) -> tuple[Spec, Mapping[str, int], list[Problem], View]:
    """Load the spec (schema-valid; lint findings returned, not raised) and the side it is
    compared with. When both are large YAML documents, the old side is parsed in a forked
    worker while this process validates the new one: the two parses are independent and
    dominate the time of a large diff."""
    yaml_old = against is not None and not against.endswith(".json")
    try:
        big = Path(spec_path).stat().st_size > PARALLEL_BYTES
    except OSError:
        big = False  # review_spec_with_lines reports the missing file
    if not (yaml_old and big and "fork" in multiprocessing.get_all_start_methods()):
        spec, lines, findings = review_spec_with_lines(spec_path)
        return spec, lines, findings, load_against(against, spec_path, root)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        pending = pool.apply_async(load_against, (against, spec_path, root))
        spec, lines, findings = review_spec_with_lines(spec_path)
        return spec, lines, findings, pending.get()


