"""Schemathesis, a client nobody here wrote, against the live worker on 127.0.0.1 over the
generated OpenAPI document it serves: every check (server errors, status codes, content types,
response and SSE event schemas, headers, rejection of schema-invalid data, acceptance of
schema-valid data, unsupported methods), every phase including the stateful one that follows
the document's link from /execute to /cancel of the same job. It must find nothing.

Bounded: a fixed seed and example count (about half a minute on two cores). The model is the
tiny test model with a context long enough for every prompt the contract accepts: a model's
context length is a property of the file, known only at run time, so the contract cannot state
it, and a prompt that overflows it is refused by cuda_inference_start (400, INVALID_PARAMETER).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("schemathesis", reason="schemathesis is a test dependency (pip install schemathesis)")

from conformance import models  # noqa: E402
from worker.contract import Contract  # noqa: E402
from worker.testing import worker_under_test  # noqa: E402

EXAMPLES = 25
SEED = 20261201


@pytest.fixture(scope="module")
def long_context_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny-long.gguf"
    emb, out, tokens, eos = models.tiny_weights()
    execute = Contract.load().request("execute").properties
    # Every character may be up to four byte tokens, and generation needs max_tokens more.
    needed = 4 * execute["prompt"]["maxLength"] + execute["max_tokens"]["maximum"] + 1
    models.write_model(path, emb, out, tokens, eos, context_length=needed)
    return path


def test_schemathesis_finds_nothing(long_context_model: Path, tmp_path: Path) -> None:
    with worker_under_test(str(long_context_model)) as w:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{w.base_url}/openapi.json",
             "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
             "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
             "--generation-database", "none", "--request-timeout", "30", "--no-color",
             "--report", "junit", "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=540, check=False, cwd=tmp_path)
        w.wait_idle()
        idle_vram = w.ctx.get_process_vram_usage() == w.model.vram_bytes_used
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected / (\d+) total", out)
    assert links and links.group(1) == links.group(3) != "0", "the stateful phase must follow " \
        f"every link: {links and links.group(0)}"
    tested = re.search(r"Tested: (\d+)", out)
    assert tested and int(tested.group(1)) == 3, out[-2000:]
    assert idle_vram, "every job's device memory is freed"
