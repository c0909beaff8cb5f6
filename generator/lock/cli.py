"""Lock workflow subcommands: lock, diff, verify-lock (see state, gate, verify and diff)."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import multiprocessing
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator import __version__
from generator.diff import diff_views
from generator.diff.report import Report, render
from generator.diff.rules import RULES, SEVERITIES
from generator.diff.source import (
    SourceError,
    View,
    baseline_view,
    compact_lines,
    load_against,
    load_spec_with_lines,
    review_spec_with_lines,
    spec_view,
)
from generator.exitcodes import EXIT_BREAKING, EXIT_DRIFT, EXIT_OK, EXIT_SPEC
from generator.lock.gate import relock_hint
from generator.lock.state import (
    BASELINE,
    DOCUMENT,
    TIMELINE,
    BaselineError,
    digest,
    dump_baseline,
    lock_state,
    parse_baseline,
    read_baseline,
    state_from_baseline,
)
from generator.lock.verify import verify
from generator.model import Spec
from generator.problems import Problem, SpecError
from generator.render import (
    render_header,
    rendered_artefacts,
    stale_files,
    write_all,
    write_if_changed,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def register(sub: Any, add: Any) -> None:
    del sub
    p = add("lock", cmd_lock, "lock the contract: write the lock document, the baseline "
            f"({BASELINE}) and a line in {TIMELINE}; refuses when lints fail, artefacts are "
            "stale, or the version bump is too small for the changes since the last lock")
    p.add_argument("--date", help="lock date, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--amend", action="store_true",
                   help="replace the current lock of the same version (corrections before the "
                        "lock is published)")
    p = add("diff", cmd_diff, "classify every change between the spec and the lock baseline, "
            "another spec file or a git revision (breaking, compatible, documentation-only)")
    p.add_argument("--against", metavar="BASELINE|SPEC|GIT_REF",
                   help=f"what to compare with: a lock baseline (.json), a spec file, or a git "
                        f"revision (REF or REF:PATH); default: {BASELINE}")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    p.add_argument("--fail-on", choices=SEVERITIES,
                   help="exit 8 if any change of this severity or worse is found")
    p.add_argument("--list-rules", action="store_true",
                   help="print the rule catalogue (ID, severity, level, meaning) and exit")
    p = add("verify-lock", cmd_verify_lock, "check that the lock document, the baseline, the "
            "spec, the committed header and (with --lib) a built library agree on the contract")
    p.add_argument("--lib", metavar="PATH", help="a built shared library of the contract")


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------- diff

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


# ---------------------------------------------------------------------------- verify-lock

def cmd_verify_lock(args: argparse.Namespace) -> int:
    return verify(Path(args.root), args.spec, args.lib)


# ---------------------------------------------------------------------------------- lock

def cmd_lock(args: argparse.Namespace) -> int:
    root = Path(args.root)
    date = args.date or dt.datetime.now(dt.UTC).date().isoformat()
    if not _DATE.match(date):
        _err(f"--date {date!r}: expected YYYY-MM-DD")
        return EXIT_SPEC
    try:
        spec, lines = load_spec_with_lines(args.spec)
    except SpecError as exc:
        print(exc.render(), file=sys.stderr)
        _err("lock refused: fix the problems above, then run `ffispec lock` again")
        return EXIT_SPEC
    try:
        previous = read_baseline(root / BASELINE)
    except BaselineError as exc:
        _err(f"lock refused: {exc}")
        return EXIT_SPEC
    version = spec.interface.version
    # A first lock has nothing to compare with; every later version says what changed.
    if previous is not None and not any(entry.version == version for entry in spec.changelog):
        _err(f"lock refused: the changelog has no entry for version {version}; add one under "
             "`changelog:` saying what changed (the lock document shows it to every consumer), "
             "then run `ffispec lock` again")
        return EXIT_SPEC
    stale = stale_files(root, rendered_artefacts(spec, lock_state(spec, root)))
    if stale:
        for rel in stale:
            print(f"{rel}: stale: differs from what {args.spec} generates", file=sys.stderr)
        _err("lock refused: artefacts are stale; run `ffispec generate`, review and commit the "
             "result, then `ffispec lock`")
        return EXIT_DRIFT
    new = spec_view(spec, lines, args.spec)
    prev_meta: dict[str, Any] | None = None
    changes: list[str] = []
    if previous is not None:
        plock = previous["lock"]
        old = baseline_view(previous)
        report = Report(old, new, diff_views(old, new))
        if not args.amend and not report.changes and plock["version"] == version and \
                plock["view_sha256"] == digest({"contract": new.contract, "context": new.context}):
            print(f"already locked: {spec.interface.name} {version} on {plock['date']}, "
                  f"contract hash {plock['contract_hash'][:16]}; nothing to do")
            return EXIT_OK
        if args.amend:
            if plock["version"] != version:
                _err(f"--amend replaces lock {plock['version']}, but the spec is version "
                     f"{version}; drop --amend to lock {version} as a new version")
                return EXIT_SPEC
            prev_meta, changes = plock["previous"], list(plock["changes"])
        else:
            if not report.version_ok or report.actual == "none":
                for c in report.changes:
                    print(f"  {c.summary()} (now {c.new_location}; locked at "
                          f"{c.old_location})", file=sys.stderr)
                reason = (report.verdict() if report.actual != "none" else
                          f"the spec changed since lock {version} but its version did not")
                _err(f"lock refused: {reason}\n{relock_hint(plock['version'])}")
                return EXIT_BREAKING if report.required == "major" else EXIT_DRIFT
            prev_meta = {"version": plock["version"], "date": plock["date"],
                         "contract_hash": plock["contract_hash"]}
            changes = [c.summary() for c in report.changes]
    elif args.amend:
        _err(f"--amend: there is no lock to amend ({BASELINE} does not exist)")
        return EXIT_SPEC
    return _write_lock(root, spec, new, lines, date, prev_meta, changes, args.amend, previous)


def _write_lock(root: Path, spec: Spec, new: View, lines: Mapping[str, int], date: str,
                prev_meta: dict[str, Any] | None, changes: list[str], amend: bool,
                previous: dict[str, Any] | None) -> int:
    header_rel = spec.interface.header.path
    body: dict[str, Any] = {
        "format": "ffispec-lock/1",
        "lock": {
            "version": spec.interface.version, "date": date, "spec": spec.source,
            "spec_sha256": spec.sha256, "contract_hash": spec.contract_hash,
            "view_sha256": digest({"contract": new.contract, "context": new.context}),
            "header": header_rel, "header_sha256": "", "generator": __version__,
            "previous": prev_meta, "changes": changes,
        },
        "contract": new.contract,
        "context": new.context,
        "locations": {"file": spec.source, "lines": compact_lines(lines)},
    }
    # Render every artefact as `ffispec generate` will from this baseline, so the recorded
    # document hash is exactly reproducible; the header does not depend on the lock.
    header = render_header(spec)
    body["lock"]["header_sha256"] = hashlib.sha256(header.encode("utf-8")).hexdigest()
    baseline = parse_baseline(dump_baseline(body, ""))
    artefacts = rendered_artefacts(spec, state_from_baseline(spec, baseline), header)
    document = artefacts[DOCUMENT]
    doc_sha = hashlib.sha256(document.encode("utf-8")).hexdigest()
    written = write_all(root, artefacts)
    if write_if_changed(root, BASELINE, dump_baseline(body, doc_sha)):
        written.append(BASELINE)
    line = (f"- FFI lock v{spec.interface.version} achieved on {date}, spec sha256 "
            f"{spec.sha256}, contract hash {spec.contract_hash}"
            + (f" (amends the lock of spec sha256 {previous['lock']['spec_sha256']})"
               if amend and previous else "") + ".\n")
    _append_timeline(root, line)
    written.append(TIMELINE)
    for rel in written:
        print(f"wrote {rel}")
    verb = "re-locked (amended)" if amend else "locked"
    print(f"{verb} {spec.interface.name} {spec.interface.version} on {date}: contract hash "
          f"{spec.contract_hash[:16]}, {len(changes)} change(s) against the previous lock; "
          "commit coordination/ and the regenerated artefacts")
    return EXIT_OK


def _append_timeline(root: Path, line: str) -> None:
    path = root / TIMELINE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ("# Master timeline\n\nMilestones of the contract, one per line, newest last. "
                "`ffispec lock` appends the lock lines.\n\n")
    if line in text:
        return
    if text and not text.endswith("\n"):
        text += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + line, encoding="utf-8")
