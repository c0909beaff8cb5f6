"""WorkerPlugin: what spec/worker_ffi.yaml cannot state as rules.

Valid arguments (a loadable GGUF model file, a prompt, a device ordinal below the device
count), the project's build paths, the device check of the CUDA build, the semantic rules
(SEM-*) and their tests (models, tokens, sampling, stop reasons, cancel, differential streams).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from conformance.library import probe_in_subprocess
from conformance.plugin import NotProvided, Plugin, UsageError

REPO = Path(__file__).resolve().parents[3]
BUILD_DIRS = {"host": REPO / "native/build/host", "cuda": REPO / "native/build/cuda"}
PROMPT = b"Hello, world"


class WorkerPlugin(Plugin):
    test_modules = ("conformance.plugins.worker_ffi.test_semantics",
                    "conformance.plugins.worker_ffi.test_concurrency",
                    "conformance.plugins.worker_ffi.test_streams")
    internal_failure_key = "UNKNOWN"  # details of cuda_testing_fail_call
    allocation_failure_key = "VRAM_OOM"  # details of cuda_testing_fail_allocation

    models: dict[str, Path] = {}

    # -- session ---------------------------------------------------------------------------
    def default_library(self, backend: str) -> Path | None:
        return BUILD_DIRS[backend] / "libworker_ffi.so"

    def setup(self, tmp: Path) -> None:
        """The test models: tiny.gguf and the broken variants (made unless --plugin-data)."""
        given = self.config.getoption("--plugin-data") if self.config is not None else None
        if not any(tmp.glob("*.gguf")):
            missing = [m for m in ("gguf", "numpy") if importlib.util.find_spec(m) is None]
            if missing:
                raise UsageError(f"writing the test models needs the Python package(s) "
                                 f"{', '.join(missing)}: pip install 'worker-ffi-toolkit[conformance]' "
                                 "(or pass --plugin-data DIR holding tiny.gguf and its variants)")
            made = subprocess.run([sys.executable, "-m", "conformance.models", os.fspath(tmp)],
                                  cwd=REPO, capture_output=True, text=True)
            if made.returncode != 0:
                raise UsageError(f"writing the test models into {tmp} failed:\n{made.stderr[-2000:]}")
        found = {g.stem: g.resolve() for g in sorted(tmp.glob("*.gguf"))}
        if "tiny" not in found:
            raise FileNotFoundError(f"no tiny.gguf test model in {given or tmp}")
        empty = tmp / "empty.gguf"
        if not empty.exists():
            empty.write_bytes(b"")
        found.update(empty=empty.resolve(), missing=(tmp / "does-not-exist.gguf").resolve())
        self.models = found

    def unavailable(self, library_path: Path) -> str | None:
        n = self.device_count(library_path)
        return None if n else f"no GPU: cuda_get_device_count() is {n} for {library_path}"

    _counts: dict[Path, int] = {}

    def device_count(self, library_path: Path) -> int:
        if library_path not in self._counts:
            self._counts[library_path] = probe_in_subprocess(library_path, "cuda_get_device_count") or 0
        return self._counts[library_path]

    # -- valid arguments -------------------------------------------------------------------
    def valid(self, fn, param, world) -> Any:
        if param.name == "model_path":
            return bytes(self.models["tiny"])
        if param.name == "prompt":
            return PROMPT
        raise NotProvided

    def strategy(self, fn, param, world, caller) -> Any:
        if param.name == "gpu_device":  # the range's upper end is the runtime device count
            import pytest

            n = self.device_count(caller.library.path)
            if n == 0:
                pytest.skip("no GPU: cuda_get_device_count() is 0")
            return st.integers(0, n - 1)
        return None

    # -- checks ----------------------------------------------------------------------------
    def rules(self, book) -> None:
        from conformance.plugins.worker_ffi.semantics import add_rules

        add_rules(book)

    def check_call(self, caller, fn, args, outcome) -> None:
        """Every piece next_token writes is valid UTF-8 (pieces never split a character)."""
        if fn.name == "cuda_inference_next_token" and outcome.ret is True and outcome.code == 0:
            piece = outcome.outs.get("token_out", b"").split(b"\0", 1)[0]
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                raise caller.violation("SEM-pieces-utf8", f"{fn.name} wrote a piece that is not "
                                       f"valid UTF-8: {piece!r}") from None

    @cached_property
    def tiny(self):
        from conformance.plugins.worker_ffi import models

        return models.tiny_weights()
