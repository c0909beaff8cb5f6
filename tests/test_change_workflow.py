"""The documented change, applied to a copy of this project: add a function to the worker spec,
bump the minor version, generate, implement, lock. Every check stays green at the end, and the
step that is easy to forget (the implementation) fails early with the signature to write."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.cli import main
from generator.lock.state import BASELINE, DOCUMENT, lock_state
from generator.render import rendered_artefacts
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = "spec/worker_ffi.yaml"
VERSION = load_spec(ROOT / SPEC).interface.version
_MAJOR, _MINOR, _ = (int(x) for x in VERSION.split("."))
NEXT_MINOR = f"{_MAJOR}.{_MINOR + 1}.0"
# The spec, the lock, the implementation and its build check; every generated artefact is added.
COPIED = ["spec", "coordination", "native/src/impl", "native/cmake"]
NEW_FUNCTION = f"""  - name: cuda_model_get_embedding_length
    group: model
    since: {NEXT_MINOR}
    doc: Width of the model's token embeddings.
    params:
      - {{name: model, type: "CudaModel*", direction: in, doc: "The model."}}
      - {{name: error_code, type: "int*", direction: out, nullable: true, written: always,
         doc: "Receives the result code; may be NULL."}}
    returns: {{type: uint32_t, on_error: "0", doc: "The embedding width d, at least 1."}}
    errors: [INVALID_PARAMETER, UNKNOWN]
    thread_safety: {{class: safe}}

"""
IMPLEMENTATION = """
namespace worker::impl {
uint32_t cuda_model_get_embedding_length(core::Model& model) { return model.shape().d; }
}  // namespace worker::impl
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel in COPIED:
        shutil.copytree(ROOT / rel, tmp_path / rel)
    for rel in rendered_artefacts(load_spec(ROOT / SPEC), lock_state(load_spec(ROOT / SPEC), ROOT)):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def check_impl(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["cmake", f"-DDECLARATIONS={root}/native/src/generated/ffi_impl.hpp",
         f"-DIMPL_DIR={root}/native/src/impl", "-P", str(root / "native/cmake/check_impl.cmake")],
        capture_output=True, text=True, check=False)


def test_add_a_function_bump_generate_implement_lock(project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("cmake") is None:
        pytest.fail("cmake is required: it runs the implementation check of the native build")
    assert main(["check"]) == 0 and check_impl(project).returncode == 0
    capsys.readouterr()
    spec = project / SPEC
    edit(spec, "  - name: cuda_model_get_context_length\n",
         NEW_FUNCTION + "  - name: cuda_model_get_context_length\n")

    # A new function without the version bump: the spec itself says what to do.
    assert main(["generate"]) == 2
    assert "LINT-since-after-version" in capsys.readouterr().err

    edit(spec, f"  version: {VERSION}\n", f"  version: {NEXT_MINOR}\n")
    edit(spec, "changelog:\n", f"changelog:\n  - version: {NEXT_MINOR}\n    changes:\n"
                               "      - \"New: cuda_model_get_embedding_length.\"\n")
    assert main(["generate"]) == 0
    assert main(["check"]) == 0
    header = (project / "native/include/worker_ffi.h").read_text()
    assert "uint32_t cuda_model_get_embedding_length(CudaModel* model, int* error_code);" in header
    assert "def get_embedding_length(self) -> int:" in (project / "worker_ffi/_generated.py").read_text()

    # Not implemented yet: the native build stops before compiling, naming the signature.
    missing = check_impl(project)
    message = " ".join(missing.stderr.split())  # CMake wraps long messages
    assert missing.returncode != 0
    assert ("uint32_t cuda_model_get_embedding_length(::worker::core::object_t<CudaModel>& model)"
            in message)
    assert f"{project}/native/src/impl/" in message and "namespace worker::impl" in message

    with (project / "native/src/impl/ffi_impl.cpp").open("a") as impl:
        impl.write(IMPLEMENTATION)
    assert check_impl(project).returncode == 0, check_impl(project).stderr

    previous = json.loads((project / BASELINE).read_text())
    assert main(["lock", "--date", "2026-12-01"]) == 0
    capsys.readouterr()
    assert main(["check"]) == 0 and main(["verify-lock"]) == 0
    doc = (project / DOCUMENT).read_text()
    assert f"| Version | {NEXT_MINOR} |" in doc
    assert f"| Previous lock | {VERSION} of {previous['lock']['date']}" in doc
    assert "compatible: FN-added cuda_model_get_embedding_length" in doc
    assert json.loads((project / BASELINE).read_text())["lock"]["version"] == NEXT_MINOR
