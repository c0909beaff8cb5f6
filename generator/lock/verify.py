"""`ffispec verify-lock`: the lock document, the baseline, the spec, the committed header and
optionally a built library all agree on one contract hash; one line per party and a verdict."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from generator.diff import diff_views
from generator.diff.lines import lines_from_model
from generator.diff.source import View, baseline_view, spec_view
from generator.exitcodes import EXIT_DRIFT, EXIT_OK, EXIT_SPEC
from generator.lock.state import (
    BASELINE,
    DOCUMENT,
    BaselineError,
    digest,
    read_baseline,
    state_from_baseline,
    view_of,
)
from generator.model import Spec
from generator.problems import SpecError
from generator.render import rendered_artefacts
from generator.spec import load_spec


class Verdicts:
    """One line per party: ok, FAIL (disagrees) or ERROR (cannot be read)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, status: str, party: str, text: str) -> None:
        self.rows.append((status, party, text))

    def exit_code(self) -> int:
        statuses = {s for s, _, _ in self.rows}
        return EXIT_SPEC if "ERROR" in statuses else EXIT_DRIFT if "FAIL" in statuses else EXIT_OK

    def print(self, title: str) -> None:
        for status, party, text in self.rows:
            print(f"  {status:<5} {party:<9} {text}")
        failed = sum(1 for s, _, _ in self.rows if s != "ok")
        verdict = (f"LOCK HOLDS: {title}" if not failed else
                   f"LOCK BROKEN: {failed} of {len(self.rows)} check(s) failed")
        print(f"verdict: {verdict}")


def verify(root: Path, spec_path: str, lib: str | None) -> int:
    v = Verdicts()
    try:
        baseline = read_baseline(root / BASELINE)
    except BaselineError as exc:
        v.add("ERROR", "baseline", str(exc))
        baseline = None
    else:
        if baseline is None:
            v.add("ERROR", "baseline", f"{BASELINE}: not found; lock the contract with "
                                       "`ffispec lock` first")
    if baseline is None:
        v.print("")
        return v.exit_code()
    lock = baseline["lock"]
    want = lock["contract_hash"]
    title = f"{baseline['contract']['interface']['name']} {lock['version']} of {lock['date']}, " \
            f"contract hash {want[:16]}"
    v.add("ok", "baseline", f"{BASELINE}: intact (seal "
                            f"{baseline['integrity']['baseline_sha256'][:16]}), lock "
                            f"{lock['version']} of {lock['date']}, contract hash {want[:16]}")
    spec: Spec | None = None
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        v.add("FAIL", "spec", f"{spec_path}: invalid, {len(exc.problems)} problem(s); run "
                              "`ffispec lint`")
    rendered: dict[str, str] = {}
    if spec is not None:
        _verify_spec(v, spec, baseline)
        rendered = rendered_artefacts(spec, state_from_baseline(spec, baseline))
    _verify_document(v, root, rendered.get(DOCUMENT), baseline)
    _verify_header(v, root, rendered.get(lock["header"]), baseline)
    if lib is not None:
        _verify_library(v, root, Path(lib), baseline)
    print(f"verify-lock: {DOCUMENT}, {BASELINE}, {spec_path}, {lock['header']}"
          + (f", {lib}" if lib else ""))
    v.print(title)
    return v.exit_code()


def _verify_spec(v: Verdicts, spec: Spec, baseline: dict[str, Any]) -> None:
    lock = baseline["lock"]
    if spec.contract_hash == lock["contract_hash"] and \
            digest(view_of(spec)) == lock["view_sha256"]:
        v.add("ok", "spec", f"{spec.source}: contract hash {spec.contract_hash[:16]}, "
                            f"version {spec.interface.version}")
        return
    old = baseline_view(baseline)
    new: View = spec_view(spec, lines_from_model(spec), spec.source)
    changes = diff_views(old, new)
    first = f"; first: {changes[0].summary()}" if changes else ""
    v.add("FAIL", "spec", f"{spec.source}: differs from the lock ({len(changes)} change(s), "
                          f"contract hash {spec.contract_hash[:16]}){first}; run `ffispec diff`, "
                          "then `ffispec lock`")


def _verify_document(v: Verdicts, root: Path, expected: str | None,
                     baseline: dict[str, Any]) -> None:
    try:
        text = (root / DOCUMENT).read_text(encoding="utf-8")
    except OSError as exc:
        v.add("FAIL", "document", f"{DOCUMENT}: cannot be read ({exc.strerror}); run "
                                  "`ffispec generate`")
        return
    lock, integrity = baseline["lock"], baseline["integrity"]
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    claims = {
        "status LOCKED": "| Status | **LOCKED** |" in text,
        f"version {lock['version']}": f"| Version | {lock['version']} |" in text,
        "the contract hash": f"| Contract hash | `{lock['contract_hash']}` |" in text,
        "the baseline seal": f"`{BASELINE}` sha256 `{integrity['baseline_sha256']}`" in text,
    }
    wrong = [k for k, ok in claims.items() if not ok]
    recorded = sha == integrity["document_sha256"]
    if expected is not None and text != expected:
        how = ("it is the document written at lock time, but the spec no longer renders it"
               if recorded else "it matches neither the lock record nor what the spec renders: "
               "edited by hand")
        v.add("FAIL", "document", f"{DOCUMENT}: {how} (sha256 {sha[:16]}); run "
                                  "`ffispec generate`" + ("" if recorded else
                                                         ", then `ffispec verify-lock`"))
    elif wrong:
        v.add("FAIL", "document", f"{DOCUMENT}: does not state {', '.join(wrong)}; run "
                                  "`ffispec generate`")
    elif not recorded and expected is None:
        v.add("FAIL", "document", f"{DOCUMENT}: sha256 {sha[:16]} is not the "
                                  f"{integrity['document_sha256'][:16]} recorded at lock time")
    else:
        note = "" if recorded else (" (re-rendered since the lock: generator or template "
                                    "changed; `ffispec lock --amend` records it)")
        v.add("ok", "document", f"{DOCUMENT}: LOCKED {lock['version']}, contract hash "
                                f"{lock['contract_hash'][:16]}, baseline seal matches{note}")


_HASH_DEFINE = re.compile(r'^#define\s+(\w+)_CONTRACT_HASH\s+"([0-9a-f]{64})"', re.M)


def _verify_header(v: Verdicts, root: Path, expected: str | None,
                   baseline: dict[str, Any]) -> None:
    lock = baseline["lock"]
    rel = lock["header"]
    try:
        data = (root / rel).read_bytes()
    except OSError as exc:
        v.add("FAIL", "header", f"{rel}: cannot be read ({exc.strerror}); run `ffispec generate`")
        return
    m = _HASH_DEFINE.search(data.decode("utf-8", "replace"))
    sha = hashlib.sha256(data).hexdigest()
    if m is None:
        v.add("FAIL", "header", f"{rel}: no *_CONTRACT_HASH define; run `ffispec generate`")
    elif m.group(2) != lock["contract_hash"]:
        v.add("FAIL", "header", f"{rel}: {m.group(1)}_CONTRACT_HASH is {m.group(2)[:16]}, the "
                                f"lock says {lock['contract_hash'][:16]}; run `ffispec generate`")
    elif expected is not None and data != expected.encode("utf-8"):
        v.add("FAIL", "header", f"{rel}: contract hash agrees, but the file is not what the "
                                "spec generates (edited by hand?); run `ffispec generate`")
    else:
        note = ("sha256 as locked" if sha == lock["header_sha256"] else
                f"sha256 {sha[:16]} (re-rendered since the lock, which recorded "
                f"{lock['header_sha256'][:16]}: generator or template changed; `check` proves "
                "it current, `ffispec lock --amend` records it)")
        v.add("ok", "header", f"{rel}: {m.group(1)}_CONTRACT_HASH {m.group(2)[:16]}, {note}")


def _verify_library(v: Verdicts, root: Path, lib: Path, baseline: dict[str, Any]) -> None:
    import cffi  # type: ignore[import-untyped,unused-ignore]

    fns = baseline["contract"]["functions"]
    roles = {f["role"]: f["name"] for f in fns if f["role"]}
    if "contract_hash" not in roles:
        v.add("ERROR", "library", "the locked contract has no function with role contract_hash")
        return
    # Declarations from the baseline alone, so any spec's library can be checked: the two roles
    # with their real prototypes (they are called), every other function only looked up.
    called = {roles[r] for r in ("contract_hash", "contract_version") if r in roles}
    ffi = cffi.FFI()
    ffi.cdef("".join(f"const char* {name}(void);\n" for name in sorted(called)) +
             "".join(f"void {f['name']}(void);\n" for f in fns if f["name"] not in called))
    try:
        handle = ffi.dlopen(str(lib.absolute()))  # a bare name would search the system paths
    except OSError as exc:
        v.add("ERROR", "library", f"{lib}: cannot be loaded: {exc}; build it first (see README)"
                                  " or pass the right path to --lib")
        return
    try:
        got = ffi.string(getattr(handle, roles["contract_hash"])()).decode("ascii", "replace")
        version = (ffi.string(getattr(handle, roles["contract_version"])()).decode("ascii",
                   "replace") if "contract_version" in roles else "?")
    except (AttributeError, TypeError) as exc:
        v.add("FAIL", "library", f"{lib}: does not export {roles['contract_hash']} ({exc})")
        return
    missing = []
    for f in fns:
        try:
            getattr(handle, f["name"])
        except AttributeError:
            missing.append(f["name"])
    lock = baseline["lock"]
    if got != lock["contract_hash"]:
        v.add("FAIL", "library", f"{lib}: built from contract {got[:16]} (version {version}), "
                                 f"the lock says {lock['contract_hash'][:16]}; rebuild it")
    elif missing:
        v.add("FAIL", "library", f"{lib}: does not export {len(missing)} locked function(s): "
                                 f"{', '.join(missing[:5])}")
    else:
        v.add("ok", "library", f"{lib}: {roles['contract_hash']}() = {got[:16]}, version "
                               f"{version}, exports all {len(fns)} locked functions")
