"""The two sides of a diff: a spec file, a spec at a git revision, or a lock baseline, each
turned into a `View` (the locked contract, its documentation context and source lines)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.loader import Locations, RawSpec, load_raw, parse_text
from generator.lock.state import BASELINE, BaselineError, read_baseline, view_of
from generator.model import Spec
from generator.normalise import normalise
from generator.problems import Location, Problem, SpecError
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


# ----------------------------------------------------------------------- source lines

class SourceLines(Mapping[str, int]):
    """Lines of a parsed spec keyed by names ("functions/cuda_init/params/ctx/nullable"),
    resolved on demand: a diff looks up only the few nodes that changed. Iterating (to record
    every line in a baseline) or pickling builds the full table once."""

    def __init__(self, raw: RawSpec):
        self._raw = raw
        d = raw.data
        self._index = {
            "functions": _positions(d.get("functions")),
            "handles": _positions(d.get("handles")),
            "errors": _positions((d.get("errors") or {}).get("codes")),
        }
        self._params: dict[int, dict[str, int]] = {}
        self._all: dict[str, int] | None = None

    def _raw_path(self, key: str) -> tuple[str | int, ...] | None:
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in key.split("/")]
        head = parts[0]
        i = self._index[str(head)].get(str(parts[1])) if head in self._index and \
            len(parts) > 1 else None
        if i is not None:
            if head == "errors":
                return ("errors", "codes", i, *parts[2:])
            if head == "functions" and len(parts) > 3 and parts[2] == "params":
                if i not in self._params:
                    self._params[i] = _positions(self._raw.data["functions"][i].get("params"))
                j = self._params[i].get(str(parts[3]))
                return None if j is None else ("functions", i, "params", j, *parts[4:])
            return (head, i, *parts[2:])
        return tuple(parts)

    def __getitem__(self, key: str) -> int:
        if self._all is not None and key in self._all:
            return self._all[key]
        path = self._raw_path(key)
        loc = None if path is None else self._raw.locations.get(path)
        if loc is None:
            raise KeyError(key)
        return loc.line

    def _table(self) -> dict[str, int]:
        if self._all is None:
            self._all = source_lines(self._raw)
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __bool__(self) -> bool:
        return True  # a parsed spec has lines; telling so needs no table

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (compact_lines(self._table()),))


def _positions(items: Any) -> dict[str, int]:
    return {str(x["name"]): i for i, x in enumerate(items or [])
            if isinstance(x, dict) and "name" in x}


def source_lines(raw: RawSpec) -> dict[str, int]:
    """The line of every node, keyed by names rather than list positions."""
    d = raw.data
    names = {
        "functions": [f.get("name") if isinstance(f, dict) else None
                      for f in d.get("functions") or []],
        "handles": [h.get("name") if isinstance(h, dict) else None
                    for h in d.get("handles") or []],
    }
    codes = [c.get("name") if isinstance(c, dict) else None
             for c in (d.get("errors") or {}).get("codes") or []]
    out: dict[str, int] = {}
    for path, line in _node_lines(raw.locations):
        if path and path[-1] == "<key>":
            continue
        key = _named(path, names, codes, d)
        if key is not None and key not in out:
            out[key] = line
    return out


def _node_lines(locations: Mapping[tuple[str | int, ...], Location]
                ) -> Iterator[tuple[tuple[str | int, ...], int]]:
    if isinstance(locations, Locations):
        return locations.lines()  # without a Location per node
    return ((path, loc.line) for path, loc in locations.items())


def _named(path: tuple[str | int, ...], names: dict[str, list[Any]], codes: list[Any],
           data: dict[str, Any]) -> str | None:
    if not path:
        return None
    head = path[0]
    if head in names and len(path) > 1 and isinstance(path[1], int):
        name = names[str(head)][path[1]]
        if name is None:
            return None
        rest: list[str] = [str(head), str(name)]
        tail = list(path[2:])
        if head == "functions" and len(tail) >= 2 and tail[0] == "params" \
                and isinstance(tail[1], int):
            params = data["functions"][path[1]].get("params") or []
            pname = params[tail[1]].get("name") if tail[1] < len(params) else None
            if not isinstance(pname, str):
                return None
            rest += ["params", pname]
            tail = tail[2:]
        return "/".join(rest + [str(t) for t in tail[:2]])
    if head == "errors" and len(path) > 2 and path[1] == "codes" and isinstance(path[2], int):
        name = codes[path[2]]
        return None if name is None else "/".join(["errors", str(name), *map(str, path[3:4])])
    return "/".join(str(p) for p in path[:3])


def compact_lines(lines: Mapping[str, int]) -> dict[str, int]:
    """Every function, parameter, error code and handle, plus the fields that sit on a line
    of their own (lookups of the others walk up to their parent's line)."""
    lines = dict(lines)
    out = {}
    for key in sorted(lines):
        parts = key.split("/")
        if len(parts) == 2 or (len(parts) == 4 and parts[2] == "params"):
            out[key] = lines[key]
            continue
        parent = key.rpartition("/")[0]
        while parent and parent not in lines:
            parent = parent.rpartition("/")[0]
        if not parent or lines[parent] != lines[key]:
            out[key] = lines[key]
    return out


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


def lines_from_model(spec: Spec) -> dict[str, int]:
    """Source lines recorded in the model (functions, parameters, error codes, handles), for
    callers that hold a loaded Spec but not its raw document."""
    out: dict[str, int] = {}
    for fn in spec.functions:
        out[f"functions/{fn.name}"] = fn.location.line
        for p in fn.params:
            out[f"functions/{fn.name}/params/{p.name}"] = p.location.line
    for c in spec.errors.codes:
        out[f"errors/{c.name}"] = c.location.line
    for h in spec.handles:
        out[f"handles/{h.name}"] = h.location.line
    return out
