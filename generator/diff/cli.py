"""`ffispec diff`: classify every change between the spec and the lock baseline, another spec
file or a git revision; the report as text, JSON or Markdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.diff import diff_views
from generator.diff.report import Report, render
from generator.diff.rules import RULES, SEVERITIES
from generator.diff.source import SourceError, load_against, review_spec_with_lines, spec_view
from generator.exitcodes import EXIT_BREAKING, EXIT_OK, EXIT_SPEC
from generator.lock.state import BASELINE
from generator.problems import SpecError


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
    spec, lines, findings = review_spec_with_lines(args.spec)
    try:
        old = load_against(args.against, args.spec, Path(args.root))
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
