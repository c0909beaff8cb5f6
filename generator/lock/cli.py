"""Lock workflow subcommands: check (artefacts current and the lock gate), lock and verify-lock
(see state, gate and verify); `ffispec diff` is generator.diff.cli."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator import __version__
from generator.diff import diff_views
from generator.diff.lines import compact_lines
from generator.diff.report import Report
from generator.diff.source import View, baseline_view, load_spec_with_lines, spec_view
from generator.exitcodes import EXIT_BREAKING, EXIT_DRIFT, EXIT_OK, EXIT_SPEC
from generator.lock import gate
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
from generator.problems import SpecError
from generator.render import (
    render_header,
    rendered_artefacts,
    stale_files,
    write_all,
    write_if_changed,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    if command == "check":
        parser.set_defaults(func=cmd_check)
    elif command == "lock":
        parser.description = (
            f"lock the contract: write the lock document, the baseline ({BASELINE}) and a line in "
            f"{TIMELINE}; refuses when lints fail, artefacts are stale, or the version bump is too "
            "small for the changes since the last lock")
        parser.add_argument("--date", help="lock date, YYYY-MM-DD (default: today, UTC)")
        parser.add_argument("--amend", action="store_true",
                            help="replace the current lock of the same version (corrections "
                                 "before the lock is published)")
        parser.set_defaults(func=cmd_lock)
    elif command == "verify-lock":
        parser.add_argument("--lib", metavar="PATH", help="a built shared library of the contract")
        parser.set_defaults(func=cmd_verify_lock)


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# --------------------------------------------------------------------------------- check

def cmd_check(args: argparse.Namespace) -> int:
    spec, lines = load_spec_with_lines(args.spec)
    root = Path(args.root)
    status = EXIT_OK
    stale = stale_files(root, rendered_artefacts(spec, lock_state(spec, root)))
    if stale:
        status |= EXIT_DRIFT
        for rel in stale:
            print(f"{rel}: stale: differs from what {args.spec} generates")
        print("fix: run `ffispec generate` and commit the result")
    status |= gate.check(spec, root, lines)
    if status == EXIT_OK:
        print(f"ok: {args.spec} is valid, every artefact is current "
              f"({spec.interface.name} {spec.interface.version})")
    return status


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
