"""The native library's refusals as a user of the worker meets them: a FIFO given as the model
makes ``worker-orcd`` exit with a clear error instead of waiting forever for a writer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.cli import EXIT_MODEL
from worker.testing import open_library

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_worker_refuses_a_fifo_model_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    lib = open_library("host")
    extra = ["--library", lib.path] if getattr(lib, "path", None) else []
    # Before the fix open() blocked until a writer appeared: the timeout turns a hang into a
    # failure rather than a stuck run.
    r = subprocess.run([sys.executable, "-m", "worker", "--model", str(fifo), "--port", "0", *extra],
                       capture_output=True, text=True, timeout=60, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == EXIT_MODEL, r.stderr
    line = next(ln for ln in r.stderr.splitlines() if "start-up failed" in ln)
    assert "key=MODEL_LOAD_FAILED" in line
    assert "FIFO" in line and "not a regular file" in line
    assert "Uvicorn running" not in r.stderr
