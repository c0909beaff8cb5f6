"""POST /execute, /cancel and GET /health against a real uvicorn server on 127.0.0.1.

Uses tiny.gguf from conformance.models, whose greedy outputs are known (GREEDY_CASES), and
overflow.gguf, whose inference fails inside next_token.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

import worker_ffi
from conformance import models
from worker.contract import Contract
from worker.testing import WorkerUnderTest, execute, worker_under_test  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    models.write_all(out)
    return out


@pytest.fixture(scope="module")
def tiny(model_dir: Path):
    with worker_under_test(str(model_dir / "tiny.gguf")) as w:
        yield w


@pytest.fixture()
def client(tiny: WorkerUnderTest):
    with tiny.client() as c:
        yield c
    tiny.wait_idle()


def test_greedy_stream_order_and_payloads(tiny: WorkerUnderTest, client: httpx.Client) -> None:
    s = execute(client, {"job_id": "greedy-1", "prompt": "Hello", "max_tokens": 64,
                         "temperature": 0, "seed": 5})
    assert s.status == 200
    n = len(s.names) - 2
    assert n > 0 and s.names == ["started"] + ["token"] * n + ["end"]
    started = s.events[0][1]
    assert (started["job_id"], started["model"], started["seed"]) == ("greedy-1", "tiny.gguf", 5)
    assert datetime.fromisoformat(started["started_at"]).tzinfo is not None
    assert [d["i"] for name, d in s.events if name == "token"] == list(range(n))
    assert s.text == models.GREEDY_CASES["Hello"]
    end = s.terminal[1]
    assert end["tokens_out"] == n and end["stop_reason"] == "EOS"
    assert end["decode_time_ms"] >= 0


@pytest.mark.parametrize("prompt", sorted(models.GREEDY_CASES))
def test_greedy_cases(client: httpx.Client, prompt: str) -> None:
    s = execute(client, {"job_id": f"g-{prompt}", "prompt": prompt, "max_tokens": 64,
                         "temperature": 0})
    assert s.text == models.GREEDY_CASES[prompt]
    assert s.terminal[0] == "end"


def test_seeded_sampling_matches_the_raw_bindings(tiny: WorkerUnderTest,
                                                  client: httpx.Client) -> None:
    for seed in (1, 2, 3):
        s = execute(client, {"job_id": f"seeded-{seed}", "prompt": "See", "max_tokens": 32,
                             "temperature": 1.5, "seed": seed})
        with tiny.model.start("See", max_tokens=32, temperature=1.5, seed=seed) as inf:
            raw = list(inf)
        assert [d["t"] for name, d in s.events if name == "token"] == raw


def test_max_tokens_and_stop_sequence(client: httpx.Client) -> None:
    s = execute(client, {"job_id": "short", "prompt": "Hello", "max_tokens": 2,
                         "temperature": 0})
    assert s.text == " world," and s.terminal[1]["stop_reason"] == "MAX_TOKENS"
    s = execute(client, {"job_id": "stop", "prompt": "Hello", "temperature": 0,
                         "stop": ["xyz", "本語"]})
    assert s.text == " world, 日本語"
    end = s.terminal[1]
    assert (end["stop_reason"], end["stop_sequence_matched"], end["tokens_out"]) == (
        "STOP_SEQUENCE", "本語", 4)


def test_health_reports_what_the_bindings_know(tiny: WorkerUnderTest,
                                               client: httpx.Client) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "healthy" and h["resident"] is True and h["device_healthy"] is True
    assert h["vram_bytes_used"] == tiny.ctx.get_process_vram_usage() > 0
    assert h["model_vram_bytes"] == tiny.model.vram_bytes_used
    assert h["busy"] is False and h["backend"] == "host" and h["model"] == "tiny.gguf"
    assert h["contract_version"] == tiny.lib.contract_version()
    assert h["vocab_size"] == tiny.model.get_vocab_size() >= 256
    assert h["context_length"] == tiny.model.get_context_length() >= 1
    assert set(h["not_reported"]) == {"quant_kind", "tokenizer_kind"}


def test_health_turns_unhealthy_on_device_fault(tiny: WorkerUnderTest,
                                                client: httpx.Client) -> None:
    tiny.ctx.testing_inject_fault(1)  # DEVICE_LOST
    try:
        h = client.get("/health").json()
        assert h["status"] == "unhealthy" and h["device_healthy"] is False and h["problems"]
    finally:
        tiny.ctx.testing_inject_fault(0)
    assert client.get("/health").json()["status"] == "healthy"


def test_start_failure_is_an_http_error_from_the_table(tiny: WorkerUnderTest,
                                                       client: httpx.Client) -> None:
    oom = worker_ffi.ERRORS["VRAM_OOM"]
    tiny.lib.testing_fail_allocation(1)
    try:
        s = execute(client, {"job_id": "oom", "prompt": "Hello", "max_tokens": 8})
    finally:
        tiny.lib.testing_fail_allocation(0)
    assert s.status == oom.http_status
    assert (s.body["code"], s.body["message"], s.body["retriable"]) == (
        oom.key, oom.message, oom.retriable)
    assert s.body["detail"]
    assert execute(client, {"job_id": "after-oom", "prompt": "Hi"}).terminal[0] == "end"


def test_inference_failure_mid_stream_is_one_error_event(model_dir: Path) -> None:
    failed = worker_ffi.ERRORS["INFERENCE_FAILED"]
    with worker_under_test(str(model_dir / "overflow.gguf")) as w, w.client() as c:
        s = execute(c, {"job_id": "overflow", "prompt": "Hello", "max_tokens": 8})
        baseline_ok = w.ctx.get_process_vram_usage() == w.model.vram_bytes_used
    assert s.status == 200 and s.names[0] == "started"
    name, data = s.terminal
    assert name == "error"
    assert (data["code"], data["message"], data["retriable"]) == (
        failed.key, failed.message, failed.retriable)
    assert baseline_ok


CONTRACT = Contract.load()
MAX_BODY_BYTES = CONTRACT.max_body_bytes
GOOD = {"job_id": "bad-input", "prompt": "Hello", "max_tokens": 4}
BAD_REQUESTS = {
    "malformed json": ({"content": b'{"job_id": "x",', "headers": {"content-type":
                                                                   "application/json"}}, "body"),
    "nan literal": ({"content": b'{"job_id":"x","prompt":"p","temperature":NaN}',
                     "headers": {"content-type": "application/json"}}, "body"),
    "not utf-8": ({"content": b'{"job_id":"\xff"}', "headers": {"content-type":
                                                                 "application/json"}}, "body"),
    "wrong content type": ({"content": b'{"job_id":"x","prompt":"p"}',
                            "headers": {"content-type": "text/plain"}}, "UNSUPPORTED_MEDIA_TYPE"),
    "no content type": ({"content": b'{"job_id":"x","prompt":"p"}'}, "UNSUPPORTED_MEDIA_TYPE"),
    "oversize": ({"json": {**GOOD, "prompt": "x" * (MAX_BODY_BYTES + 1)}}, "REQUEST_TOO_LARGE"),
    # A list stands for a chunked body (a fresh iterator per request: one is consumed once).
    "oversize chunked": ({"content": [b'{"prompt":"', b"x" * (MAX_BODY_BYTES + 1), b'"}'],
                          "headers": {"content-type": "application/json"}}, "REQUEST_TOO_LARGE"),
    "array body": ({"json": [GOOD]}, "body"),
    "missing job_id": ({"json": {"prompt": "p"}}, "job_id"),
    "missing prompt": ({"json": {"job_id": "x"}}, "prompt"),
    "empty job_id": ({"json": {**GOOD, "job_id": ""}}, "job_id"),
    "max_tokens out of range": ({"json": {**GOOD, "max_tokens": 5000}}, "max_tokens"),
    "temperature out of range": ({"json": {**GOOD, "temperature": -1}}, "temperature"),
    "unsupported top_k": ({"json": {**GOOD, "top_k": 40}}, "top_k"),
}


BAD_CASES = [("/execute", case) for case in sorted(BAD_REQUESTS)] + [
    ("/cancel", case) for case, (_, field) in sorted(BAD_REQUESTS.items())
    if field in {"body", "job_id"} or field in CONTRACT.errors
]


@pytest.mark.parametrize(("path", "case"), BAD_CASES)
def test_bad_input_gets_an_error_from_the_tables(client: httpx.Client, path: str,
                                                 case: str) -> None:
    """A field error is 400 INVALID_PARAMETER (the contract's code) naming the field; a body
    that cannot be read is the service table's 413 or 415."""
    kwargs, field = BAD_REQUESTS[case]
    if path == "/cancel" and case == "missing job_id":
        kwargs = {"json": {}}
    if isinstance(kwargs.get("content"), list):
        kwargs = {**kwargs, "content": iter(kwargs["content"])}
    r = client.post(path, **kwargs)
    body = r.json()
    if field in CONTRACT.errors:
        entry = CONTRACT.errors[field]
        assert (r.status_code, body["code"], body["message"], body["retriable"]) == (
            entry.status, field, entry.message, False), r.text
        assert r.status_code in (413, 415)
        return
    assert r.status_code == 400, r.text
    invalid = worker_ffi.ERRORS["INVALID_PARAMETER"]
    assert (body["code"], body["message"], body["retriable"]) == (
        invalid.key, invalid.message, False)
    assert field in [e["field"] for e in body["errors"]], body
    assert all(e["message"] for e in body["errors"])


def test_all_failing_fields_in_one_answer(client: httpx.Client) -> None:
    r = client.post("/execute", json={"job_id": "", "prompt": "", "max_tokens": 0,
                                      "temperature": 3, "seed": -5})
    assert r.status_code == 400
    assert sorted(e["field"] for e in r.json()["errors"]) == [
        "job_id", "max_tokens", "prompt", "seed", "temperature"]


def test_cancel_of_unknown_and_finished_jobs_is_202(client: httpx.Client) -> None:
    for job_id in ("never-seen", "never-seen"):
        r = client.post("/cancel", json={"job_id": job_id})
        assert (r.status_code, r.json()) == (202, {"status": "cancelling", "job_id": job_id})
        assert r.headers["content-type"] == "application/json"
    assert execute(client, {"job_id": "done", "prompt": "Hi"}).terminal[0] == "end"
    r = client.post("/cancel", json={"job_id": "done"})
    assert (r.status_code, r.json()) == (202, {"status": "cancelling", "job_id": "done"})
    assert execute(client, {"job_id": "next", "prompt": "Hi"}).terminal[0] == "end"
