"""`ffispec import` and `ffispec audit`.

Exit status: 0 done (import: the draft was written; audit: no finding); 2 a header does not
preprocess or parse, or bad usage; 16 audit (or `import --report --fail-on-findings`) found
contradictions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.exitcodes import EXIT_FINDINGS, EXIT_OK
from generator.exitcodes import EXIT_SPEC as EXIT_HEADERS
from generator.headers.audit import audit
from generator.headers.declarations import read_headers
from generator.headers.emit import to_yaml
from generator.headers.findings import render
from generator.headers.infer import infer
from generator.headers.problems import HeaderError
from generator.problems import SpecError
from generator.spec import load_spec


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--prefix", help="the C prefix of the interface's names (default: guessed)")
    if command == "audit":
        parser.description = (
            "Report what C headers contradict, each finding with both locations: conflicting "
            "constants and declarations, NULL rules, error lists, undeclared aliases, ambiguous "
            "booleans, missing error channels, prose-only ranges, undocumented functions.")
        parser.set_defaults(func=cmd_audit)
        return
    parser.description = (
        "Draft a spec from existing C headers: declarations, typedefs, enums, integer #defines "
        "and doc comments. Every guess carries its header:line as a YAML comment; what the "
        "headers do not state is left for the spec's lints to ask.")
    parser.add_argument("-o", "--output", required=True, metavar="SPEC.yaml", help="where to write the draft")
    parser.add_argument("--report", action="store_true", help="also print the audit of the headers")
    parser.add_argument("--no-lint", action="store_true",
                        help="do not load the draft with the spec's checks to count what is left to decide")
    parser.add_argument("--fail-on-findings", action="store_true", help="with --report: exit 16 on any finding")
    parser.set_defaults(func=cmd_import)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("headers", nargs="+", metavar="HEADER")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                   help="an include directory (repeatable)")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                   help="a macro definition for the preprocessor (repeatable)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="the audit report's format")
    p.add_argument("--report-output", metavar="FILE", help="write the audit report to FILE")


def cmd_import(args: argparse.Namespace) -> int:
    try:
        hs = read_headers(args.headers, args.include_dirs, args.defines)
    except HeaderError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_HEADERS
    draft = infer(hs, args.prefix)
    head = [f"Drafted by `ffispec import` from {', '.join(args.headers)}.",
            "Comments above a field say where it came from (header:line and the words); a field the",
            "headers do not state is left out and `ffispec lint` asks for it. Review every comment, then",
            "delete it.", "", *draft.summary]
    out = Path(args.output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_yaml(draft, head), encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_HEADERS
    print(f"wrote {out}: {len(draft.data['functions'])} function(s), {len(draft.data['handles'])} handle(s), "
          f"{len(draft.data['errors'].get('codes', []))} error code(s), {len(hs.skipped)} construct(s) skipped")
    if not args.no_lint:
        print(_lint_summary(out))
    status = EXIT_OK
    if args.report:
        findings = audit(hs, args.prefix)
        _emit(render(findings, args.format, hs), args.report_output)
        if findings and args.fail_on_findings:
            status = EXIT_FINDINGS
    return status


def _lint_summary(path: Path) -> str:
    try:
        load_spec(path)
    except SpecError as exc:
        rules: dict[str, int] = {}
        for p in exc.problems:
            rules[p.rule] = rules.get(p.rule, 0) + 1
        listing = ", ".join(f"{r} x{n}" for r, n in sorted(rules.items()))
        return (f"{len(exc.problems)} lint finding(s) to decide ({listing}); "
                f"see `ffispec lint --spec {path}`")
    return "the draft lints clean"


def cmd_audit(args: argparse.Namespace) -> int:
    try:
        hs = read_headers(args.headers, args.include_dirs, args.defines)
    except HeaderError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_HEADERS
    findings = audit(hs, args.prefix)
    _emit(render(findings, args.format, hs), args.report_output)
    return EXIT_FINDINGS if findings else EXIT_OK


def _emit(text: str, path: str | None) -> None:
    if path:
        Path(path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
