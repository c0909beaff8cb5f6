"""The two sides of a diff: a spec file, a spec at a git revision, or a lock baseline, each
turned into a `View` (the locked contract, its documentation context and source lines)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.diff.lines import SourceLines
from generator.loader import RawSpec, load_raw, parse_text
from generator.lock.state import BASELINE, BaselineError, read_baseline, view_of
from generator.model import Spec
from generator.normalise import normalise
from generator.problems import Problem, SpecError
from generator.spec import check_raw, review_raw


class SourceError(Exception):
    """A side of the diff cannot be read; the message says which and how to fix it."""


_SYMBOLS = frozenset({"functions", "handles", "errors"})


@dataclass(frozen=True)
class View:
    label: str                 # what the user named: a path, `REF:path`, the baseline
    file: str                  # the spec file the source lines refer to
    version: str
    contract: dict[str, Any]
    context: dict[str, Any]
    lines: Mapping[str, int]   # "functions/cuda_init/params/ctx" -> line

    def where(self, *path: str) -> str | None:
        """`file:line` of `path` or of its nearest recorded ancestor; None when the function,
        handle or error code `path` names does not exist on this side (an added function has
        no old location)."""
        parts = list(path)
        if len(parts) >= 2 and parts[0] in _SYMBOLS and self.lines and \
                "/".join(parts[:2]) not in self.lines:
            return None
        while parts:
            line = self.lines.get("/".join(parts))
            if line is not None:
                return f"{self.file}:{line}"
            parts.pop()
        return f"{self.file}:1" if self.lines else None


# --------------------------------------------------------------------------- loading

def load_spec_with_lines(path: str | Path) -> tuple[Spec, Mapping[str, int]]:
    """Exactly `spec.load_spec` (schema, lints, every problem at once), keeping source lines."""
    return _checked(load_raw(path))


def review_spec_with_lines(path: str | Path) -> tuple[Spec, Mapping[str, int], list[Problem]]:
    """The spec with its source lines and lint findings: a spec that fails lint can still be
    classified (SpecError only when the schema rejects it)."""
    raw = load_raw(path)
    spec, findings = review_raw(raw)
    return spec, SourceLines(raw), findings


def _checked(raw: RawSpec) -> tuple[Spec, Mapping[str, int]]:
    return check_raw(raw), SourceLines(raw)


def _trusted(raw: RawSpec, name: str) -> tuple[Spec, Mapping[str, int]]:
    """The old side of a diff is history: normalise it directly (fast); only if that fails,
    validate it fully so the user sees every problem with its line."""
    try:
        return normalise(raw), SourceLines(raw)
    except Exception:  # noqa: BLE001 - any failure means the document is not schema-valid
        return _checked(raw)


def spec_view(spec: Spec, lines: Mapping[str, int], label: str) -> View:
    v = view_of(spec)
    return View(label, spec.source, spec.interface.version, v["contract"], v["context"], lines)


def baseline_view(baseline: dict[str, Any], label: str = BASELINE) -> View:
    loc = baseline.get("locations") or {}
    return View(label, str(loc.get("file") or baseline["lock"]["spec"]),
                baseline["lock"]["version"], baseline["contract"], baseline["context"],
                dict(loc.get("lines") or {}))


def load_against(against: str | None, spec_path: str, root: Path) -> View:
    """Resolve `--against`: a lock baseline (.json), a spec file, or a git revision."""
    if against is None:
        return _baseline_file(root / BASELINE, BASELINE, missing_hint=(
            "no lock baseline yet: run `ffispec lock`, or compare with a git revision: "
            "`ffispec diff --against HEAD`"))
    candidate = Path(against)
    if not candidate.is_absolute() and not candidate.exists():
        candidate = root / against
    if candidate.is_file():
        if candidate.suffix == ".json":
            return _baseline_file(candidate, against)
        try:
            return spec_view(*_trusted(load_raw(candidate), against), label=against)
        except SpecError as exc:
            raise SourceError(f"--against {against}: the spec is invalid:\n"
                              f"{exc.render()}") from None
    if ":" not in against and candidate.suffix in (".json", ".yaml", ".yml"):
        raise SourceError(f"--against {against}: file not found; pass an existing lock "
                          "baseline or spec file, or a git revision such as HEAD")
    return _git_view(against, spec_path, root)


def _baseline_file(path: Path, label: str, missing_hint: str = "") -> View:
    try:
        baseline = read_baseline(path, label)
    except BaselineError as exc:
        raise SourceError(str(exc)) from None
    if baseline is None:
        raise SourceError(f"{label}: file not found; " + (missing_hint or
                          "pass an existing lock baseline, spec file or git revision"))
    return baseline_view(baseline, label)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=False)
    except FileNotFoundError:
        raise SourceError("git is not installed: pass a file to --against instead") from None


def _git_view(against: str, spec_path: str, root: Path) -> View:
    ref, _, inner = against.partition(":")
    top = _git(root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise SourceError(f"--against {against}: no such file, and {root.resolve()} is not in "
                          "a git repository, so it cannot be a revision either")
    if _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise SourceError(f"--against {against}: neither a file nor a git revision of "
                          f"{top.stdout.strip()}; fix: pass a lock baseline (.json), a spec file, "
                          "or a revision such as HEAD, HEAD~1, a tag or a commit id")
    if not inner:
        spec_abs = Path(spec_path) if Path(spec_path).is_absolute() else root / spec_path
        try:
            inner = spec_abs.resolve().relative_to(Path(top.stdout.strip())).as_posix()
        except ValueError:
            raise SourceError(f"--against {against}: {spec_path} is outside the repository; "
                              "name the file explicitly as REVISION:PATH") from None
    shown = _git(root, "show", f"{ref}:{inner}")
    if shown.returncode != 0:
        raise SourceError(f"--against {against}: revision {ref} has no file {inner}; fix: name "
                          "the spec's path at that revision as REVISION:PATH")
    label = f"{ref}:{inner}"
    try:
        raw = parse_text(shown.stdout, label)
    except SpecError as exc:
        raise SourceError(f"--against {against}: the spec at {label} is invalid:\n"
                          f"{exc.render()}") from None
    try:
        return spec_view(*_trusted(raw, label), label=label)
    except SpecError as exc:
        raise SourceError(f"--against {against}: the spec at {label} is invalid:\n"
                          f"{exc.render()}") from None
