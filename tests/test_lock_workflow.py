"""The lock workflow end to end in a scratch project: lock, the gate in check, diff against
the baseline, files and git revisions, verify-lock (with a built library), and bad input:
corrupt or hand-edited baselines and documents, missing files and revisions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main
from generator.lock.state import BASELINE, DOCUMENT, TIMELINE
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = "spec/worker_ffi.yaml"
DATE = "2026-11-26"
# The properties below hold for any version of the spec; the scratch project starts unlocked.
VERSION = load_spec(ROOT / SPEC).interface.version
_MAJOR, _MINOR, _PATCH = (int(x) for x in VERSION.split("."))
NEXT_MINOR = f"{_MAJOR}.{_MINOR + 1}.0"
NEXT_PATCH = f"{_MAJOR}.{_MINOR}.{_PATCH + 1}"
NEXT_MAJOR = f"{_MAJOR + 1}.0.0"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch project: the worker spec and its generated artefacts, not locked yet."""
    (tmp_path / "spec").mkdir()
    shutil.copy(ROOT / SPEC, tmp_path / SPEC)
    monkeypatch.chdir(tmp_path)
    assert main(["generate"]) == 0
    return tmp_path


@pytest.fixture
def locked(project: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["lock", "--date", DATE]) == 0
    capsys.readouterr()
    return project


def edit_spec(root: Path, old: str, new: str, count: int = 1) -> None:
    path = root / SPEC
    text = path.read_text()
    assert text.count(old) == count, old
    path.write_text(text.replace(old, new))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env_path = str(ROOT)
    return subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "from generator.cli import main; sys.exit(main(sys.argv[2:]))",
                           env_path, *args], cwd=cwd, capture_output=True, text=True, check=False)


# -------------------------------------------------------------------------------- lock

def test_lock_writes_document_baseline_and_timeline(locked: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_spec(SPEC)
    doc = (locked / DOCUMENT).read_text()
    assert "| Status | **LOCKED** |" in doc and f"| Lock date | {DATE} |" in doc
    assert spec.contract_hash in doc and "None: this is the first lock." in doc
    baseline = json.loads((locked / BASELINE).read_text())
    assert baseline["lock"]["contract_hash"] == spec.contract_hash
    assert baseline["locations"]["lines"]["functions/cuda_init"] > 1
    assert f"`{BASELINE}` sha256 `{baseline['integrity']['baseline_sha256']}`" in doc
    timeline = (locked / TIMELINE).read_text()
    assert f"FFI lock v{VERSION} achieved on {DATE}, spec sha256 {spec.sha256}" in timeline
    # The document is exactly what `generate` renders from the spec and the baseline.
    assert main(["check"]) == 0
    assert main(["generate"]) == 0
    assert "0 file(s) changed" in capsys.readouterr().out
    # Locking again is a no-op, and the timeline line is not repeated.
    assert main(["lock"]) == 0
    assert "already locked" in capsys.readouterr().out
    assert (locked / TIMELINE).read_text().count(f"FFI lock v{VERSION}") == 1


def test_lock_refuses_stale_artefacts(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = project / "native/include/worker_ffi.h"
    header.write_text(header.read_text() + "/* hand edit */\n")
    assert main(["lock"]) == 4
    err = capsys.readouterr().err
    assert "native/include/worker_ffi.h: stale" in err and "ffispec generate" in err
    assert not (project / BASELINE).exists()


def test_lock_refuses_a_spec_that_fails_lints(project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(project, "destroyed_by: cuda_unload_model", "destroyed_by: cuda_unload_modle")
    assert main(["lock"]) == 2
    err = capsys.readouterr().err
    assert "LINT-handle-no-destroyer" in err and "lock refused" in err
    assert f"{SPEC}:" in err


# ------------------------------------------------------------------------- the gate

BREAKING = ('{name: token_index, type: "int*", direction: out, nullable: true,',
            '{name: token_index, type: "int*", direction: out, nullable: false,')


def test_gate_refuses_breaking_change_without_major_bump(
        locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(locked, *BREAKING)
    assert main(["generate"]) == 0
    capsys.readouterr()
    assert main(["check"]) == 8
    out = capsys.readouterr().out
    assert "FN-param-nullable-tightened cuda_inference_next_token.token_index" in out
    assert f"set interface.version to {NEXT_MAJOR}" in out and "ffispec lock" in out
    assert f"now {SPEC}:" in out and f"locked at {SPEC}:" in out


def test_gate_compatible_only_needs_minor_and_then_relocks(
        locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(locked, '{name: ctx, type: "CudaContext*", direction: in, doc: "The context that '
              'will own the model."}', '{name: ctx, type: "CudaContext*", direction: in, '
              'nullable: true, doc: "The context that will own the model."}')
    assert main(["generate"]) == 0
    capsys.readouterr()
    assert main(["check"]) == 4
    assert f"minor version bump: set interface.version to {NEXT_MINOR}" in capsys.readouterr().out
    assert main(["lock"]) == 4  # lock applies the same rule
    capsys.readouterr()
    edit_spec(locked, f"  version: {VERSION}\n", f"  version: {NEXT_MINOR}\n")
    assert main(["generate"]) == 0
    assert main(["check"]) == 0
    assert "not locked yet" in capsys.readouterr().out
    assert main(["lock", "--date", "2026-12-01"]) == 2  # the hint asks for a changelog entry
    assert f"no entry for version {NEXT_MINOR}" in capsys.readouterr().err
    edit_spec(locked, "changelog:\n", f"changelog:\n  - version: {NEXT_MINOR}\n"
              "    changes: [cuda_load_model accepts a NULL context]\n")
    assert main(["generate"]) == 0
    assert main(["lock", "--date", "2026-12-01"]) == 0
    doc = (locked / DOCUMENT).read_text()
    assert f"| Previous lock | {VERSION} of 2026-11-26" in doc
    assert "compatible: FN-param-nullable-relaxed cuda_load_model.ctx" in doc
    assert main(["check"]) == 0 and main(["verify-lock"]) == 0
    assert (locked / TIMELINE).read_text().count(f"FFI lock v{NEXT_MINOR} achieved on 2026-12-01") == 1


def test_amend_replaces_an_unpublished_lock(locked: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(locked, "doc: Initialise a context on one device.", "doc: Open a context.")
    assert main(["generate"]) == 0
    capsys.readouterr()
    assert main(["check"]) == 4  # documentation-only still needs a (patch) bump
    assert main(["lock", "--amend", "--date", DATE]) == 0
    assert main(["check"]) == 0 and main(["verify-lock"]) == 0
    assert "amends the lock of spec sha256" in (locked / TIMELINE).read_text()


# --------------------------------------------------------------------------------- diff

def test_diff_formats(locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(locked, *BREAKING)
    assert main(["diff"]) == 0
    text = capsys.readouterr().out
    assert "BREAKING (1)" in text and "verdict: these changes need a major" in text
    assert main(["diff", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    [change] = data["changes"]
    assert change["rule"] == "FN-param-nullable-tightened" and data["required_bump"] == "major"
    assert change["old_location"].startswith(SPEC) and len(change["fingerprint"]) == 12
    assert main(["diff", "--format", "markdown", "-o", "report.md"]) == 0
    assert "| breaking | `FN-param-nullable-tightened` |" in (locked / "report.md").read_text()
    assert main(["diff", "--fail-on", "breaking"]) == 8
    assert main(["diff", "--list-rules"]) == 0
    assert "FN-param-nullable-tightened" in capsys.readouterr().out


def test_diff_against_a_git_revision_and_a_spec_file(locked: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=locked, check=True)
    subprocess.run([*git, "add", SPEC], cwd=locked, check=True)
    subprocess.run([*git, "commit", "-qm", "spec"], cwd=locked, check=True)
    shutil.copy(locked / SPEC, locked / "old.yaml")
    edit_spec(locked, *BREAKING)
    for against in ("HEAD", f"HEAD:{SPEC}", "old.yaml"):
        assert main(["diff", "--against", against, "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert [c["rule"] for c in data["changes"]] == ["FN-param-nullable-tightened"], against


@pytest.mark.parametrize("against,git,message", [
    ("no-such-ref", True, "neither a file nor a git revision"),
    ("no-such-ref", False, "is not in a git repository"),
    ("HEAD:spec/missing.yaml", True, "revision HEAD has no file spec/missing.yaml"),
    ("missing.json", False, "file not found"),
    ("missing.yaml", False, "file not found"),
])
def test_diff_against_something_missing_is_a_clear_error(locked: Path, against: str, git: bool,
                                                         message: str) -> None:
    if git:
        cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*cmd, "init", "-q"], cwd=locked, check=True)
        subprocess.run([*cmd, "add", SPEC], cwd=locked, check=True)
        subprocess.run([*cmd, "commit", "-qm", "spec"], cwd=locked, check=True)
    result = run("diff", "--against", against, cwd=locked)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_diff_without_a_baseline_says_how_to_get_one(project: Path) -> None:
    result = run("diff", cwd=project)
    assert result.returncode == 2 and "ffispec lock" in result.stderr
    assert "Traceback" not in result.stderr


# ----------------------------------------------------------------- corrupt lock files

def test_hand_edited_baseline_is_named_everywhere(locked: Path) -> None:
    path = locked / BASELINE
    path.write_text(path.read_text().replace('"http_status": 499', '"http_status": 409'))
    for args, code in ((["check"], 2), (["verify-lock"], 2), (["diff"], 2), (["lock"], 2)):
        result = run(*args, cwd=locked)
        out = result.stdout + result.stderr
        assert result.returncode & code, (args, out)
        assert f"{BASELINE}:" in out and "edited by hand" in out, (args, out)
        assert "Traceback" not in out


def test_baseline_that_is_not_json_is_reported_with_its_line(locked: Path) -> None:
    path = locked / BASELINE
    path.write_text(path.read_text()[:500])
    result = run("verify-lock", cwd=locked)
    assert result.returncode == 2
    assert f"{BASELINE}:" in result.stdout and "not valid JSON" in result.stdout


def test_hand_edited_document_is_detected(locked: Path) -> None:
    doc = locked / DOCUMENT
    doc.write_text(doc.read_text().replace(f"| Version | {VERSION} |", f"| Version | {NEXT_PATCH} |"))
    result = run("verify-lock", cwd=locked)
    assert result.returncode == 4
    assert "FAIL  document" in result.stdout and "edited by hand" in result.stdout
    assert "LOCK BROKEN" in result.stdout
    check = run("check", cwd=locked)
    assert check.returncode & 4 and f"{DOCUMENT}: stale" in check.stdout


# -------------------------------------------------------------------------- verify-lock

def _stub_library(root: Path, contract_hash: str, skip: str = "") -> Path:
    """A shared library that exports every function of the spec (except `skip`)."""
    spec = load_spec(SPEC)
    lines = ["#include <stdbool.h>", "#include <stdint.h>"]
    lines += [f"typedef struct {h.name} {h.name};" for h in spec.handles]
    for fn in spec.functions:
        if fn.name == skip:
            continue
        if fn.role == "contract_hash":
            body = f'return "{contract_hash}";'
        elif fn.role == "contract_version":
            body = f'return "{spec.interface.version}";'
        else:
            body = "" if fn.returns.ctype.is_void else f"return ({fn.returns.ctype.c})0;"
        lines.append(f"{fn.c_signature} {{ {body} }}")
    src = root / "stub.c"
    src.write_text("\n".join(lines) + "\n")
    lib = root / f"libstub{len(skip)}{contract_hash[:4]}.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_verify_lock_with_a_built_library(locked: Path) -> None:
    spec = load_spec(SPEC)
    good = run("verify-lock", "--lib", str(_stub_library(locked, spec.contract_hash)), cwd=locked)
    assert good.returncode == 0, good.stdout
    assert "ok    library" in good.stdout and "LOCK HOLDS" in good.stdout
    stale = run("verify-lock", "--lib", str(_stub_library(locked, "0" * 64)), cwd=locked)
    assert stale.returncode == 4 and "rebuild it" in stale.stdout
    partial = _stub_library(locked, spec.contract_hash, skip="cuda_inference_cancel")
    missing = run("verify-lock", "--lib", str(partial), cwd=locked)
    assert missing.returncode == 4 and "cuda_inference_cancel" in missing.stdout
    absent = run("verify-lock", "--lib", "nowhere/libworker_ffi.so", cwd=locked)
    assert absent.returncode == 2 and "cannot be loaded" in absent.stdout
    assert "Traceback" not in absent.stdout + absent.stderr


def test_verify_lock_reports_spec_and_header_drift(locked: Path) -> None:
    edit_spec(locked, *BREAKING)
    header = locked / "native/include/worker_ffi.h"
    spec_hash = load_spec(ROOT / SPEC).contract_hash
    header.write_text(header.read_text().replace(spec_hash, "0" * 64))
    result = run("verify-lock", cwd=locked)
    assert result.returncode == 4
    assert "FAIL  spec" in result.stdout and "FN-param-nullable-tightened" in result.stdout
    assert "FAIL  header" in result.stdout


def test_verify_lock_without_a_lock(project: Path) -> None:
    result = run("verify-lock", cwd=project)
    assert result.returncode == 2 and "ffispec lock" in result.stdout


def test_verify_lock_tells_a_hand_edit_of_the_header_from_a_regeneration(locked: Path) -> None:
    header = locked / "native/include/worker_ffi.h"
    original = header.read_text()
    header.write_text(original.replace("#define WORKER_FFI_H", "#define WORKER_FFI_H /* x */"))
    edited = run("verify-lock", cwd=locked)
    assert edited.returncode == 4 and "edited by hand" in edited.stdout
    # A header that the current generator renders, but differs from the one recorded at lock
    # time (a template change), agrees on the contract: noted, not failed; --amend records it.
    header.write_text(original)
    baseline = json.loads((locked / BASELINE).read_text())
    assert baseline["lock"]["header_sha256"]
    assert main(["lock", "--amend", "--date", DATE]) == 0
    again = run("verify-lock", cwd=locked)
    assert again.returncode == 0 and "sha256 as locked" in again.stdout
