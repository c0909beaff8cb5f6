"""``python -m worker``: start-up order and failures (M0-W-1110), serving, clean shutdown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conformance import models
from worker.cli import EXIT_INIT, EXIT_MODEL  # noqa: E402
from worker.testing import execute, open_library  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-models")
    models.write_all(out)
    return out


def library_args() -> list[str]:
    lib = open_library("host")
    return ["--library", lib.path] if getattr(lib, "path", None) else []


def worker_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "worker", *args]


def run_worker(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(worker_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_model_load_failure_logs_code_key_detail_and_gpu(model_dir: Path) -> None:
    r = run_worker("--model", str(model_dir / "bad_magic.gguf"), "--port", "0",
                   *library_args())
    assert r.returncode == EXIT_MODEL, r.stderr
    line = next(ln for ln in r.stderr.splitlines() if "start-up failed" in ln)
    assert "cuda_load_model" in line and "key=MODEL_LOAD_FAILED" in line
    assert "code=3" in line and "gpu_device=0" in line and "bad magic" in line
    assert "Uvicorn running" not in r.stderr  # never started listening


def test_init_failure_exits_before_loading(model_dir: Path) -> None:
    r = run_worker("--model", str(model_dir / "tiny.gguf"), "--gpu-device", "999",
                   "--port", "0", *library_args())
    assert r.returncode == EXIT_INIT, r.stderr
    assert "cuda_init" in r.stderr and "key=INVALID_DEVICE" in r.stderr
    assert "gpu_device=999" in r.stderr


def test_serves_then_shuts_down_cleanly(model_dir: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            worker_cmd("--model", str(model_dir / "tiny.gguf"), "--backend", "host",
                       "--gpu-device", "0", "--port", "0", *library_args()),
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        base = None
        while base is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)",
                              log_path.read_text())
            base = found.group(1) if found else None
            time.sleep(0.05)
        assert base, log_path.read_text()
        text = log_path.read_text()
        assert text.index("model") < text.index("Uvicorn running")  # loaded, then listening
        with httpx.Client(base_url=base, timeout=10) as c:
            assert c.get("/health").json()["status"] == "healthy"
            s = execute(c, {"job_id": "cli", "prompt": "Hello", "temperature": 0})
            assert s.text == models.GREEDY_CASES["Hello"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
