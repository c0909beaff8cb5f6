"""Hostile input against a real worker on 127.0.0.1: every answer is a 4xx JSON body from a
generated error table, never a 500 and never a stack trace, and the process's memory is back
at its baseline after thousands of such requests."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import httpx
import pytest

import worker_ffi
from conformance import models
from worker.contract import Contract
from worker.testing import WorkerUnderTest, worker_under_test

CONTRACT = Contract.load()
JSON = {"content-type": "application/json"}
NESTED = 10_000


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("models")
    models.write_all(out)
    with worker_under_test(str(out / "tiny.gguf")) as running:
        yield running


def _body(**fields: str) -> bytes:
    """A request body with raw JSON text for some fields (numbers the encoder cannot write)."""
    base = {"job_id": '"x"', "prompt": '"p"', **fields}
    return ("{" + ",".join(f'"{k}":{v}' for k, v in base.items()) + "}").encode()


# name -> (method, path, content, headers, expected service key)
CASES: dict[str, tuple[str, str, bytes, dict[str, str], str]] = {
    "nested arrays": ("POST", "/execute", b"[" * NESTED + b"]" * NESTED, JSON,
                      "INVALID_PARAMETER"),
    "nested objects": ("POST", "/execute", b'{"a":' * NESTED + b"1" + b"}" * NESTED, JSON,
                       "INVALID_PARAMETER"),
    "nested in a field": ("POST", "/cancel", b'{"job_id":' + b"[" * NESTED + b"]" * NESTED
                          + b"}", JSON, "INVALID_PARAMETER"),
    "huge exponent": ("POST", "/execute", _body(max_tokens="1e999"), JSON, "INVALID_PARAMETER"),
    "huge negative": ("POST", "/execute", _body(temperature="-1e999"), JSON,
                      "INVALID_PARAMETER"),
    "5000-digit integer": ("POST", "/execute", _body(seed="9" * 5000), JSON,
                           "INVALID_PARAMETER"),
    "integer past uint64": ("POST", "/execute", _body(seed=str(2**64)), JSON,
                            "INVALID_PARAMETER"),
    "NaN": ("POST", "/execute", _body(temperature="NaN"), JSON, "INVALID_PARAMETER"),
    "Infinity": ("POST", "/execute", _body(temperature="Infinity"), JSON, "INVALID_PARAMETER"),
    "-Infinity": ("POST", "/execute", _body(top_p="-Infinity"), JSON, "INVALID_PARAMETER"),
    "invalid UTF-8": ("POST", "/execute", b'{"job_id":"\xff\xfe","prompt":"p"}', JSON,
                      "INVALID_PARAMETER"),
    "overlong UTF-8": ("POST", "/cancel", b'{"job_id":"\xc0\xaf"}', JSON, "INVALID_PARAMETER"),
    "encoded surrogate": ("POST", "/execute", b'{"job_id":"x","prompt":"\xed\xa0\x80"}', JSON,
                          "INVALID_PARAMETER"),
    "escaped lone surrogate": ("POST", "/execute", _body(prompt='"\\ud800"'), JSON,
                               "INVALID_PARAMETER"),
    "NUL in prompt": ("POST", "/execute", _body(prompt='"a\\u0000b"'), JSON,
                      "INVALID_PARAMETER"),
    "empty body": ("POST", "/execute", b"", JSON, "INVALID_PARAMETER"),
    "text/plain": ("POST", "/execute", _body(), {"content-type": "text/plain"},
                   "UNSUPPORTED_MEDIA_TYPE"),
    "form": ("POST", "/cancel", b"job_id=x",
             {"content-type": "application/x-www-form-urlencoded"}, "UNSUPPORTED_MEDIA_TYPE"),
    "multipart": ("POST", "/execute", b"--b\r\n\r\n--b--",
                  {"content-type": "multipart/form-data; boundary=b"}, "UNSUPPORTED_MEDIA_TYPE"),
    "json suffix type": ("POST", "/execute", _body(), {"content-type": "application/ld+json"},
                         "UNSUPPORTED_MEDIA_TYPE"),
    "too large": ("POST", "/execute", b'{"prompt":"' + b"x" * CONTRACT.max_body_bytes + b'"}',
                  JSON, "REQUEST_TOO_LARGE"),
    "unknown path": ("GET", "/nope", b"", {}, "NOT_FOUND"),
    "unknown path, POST": ("POST", "/execute/x", _body(), JSON, "NOT_FOUND"),
    "GET /execute": ("GET", "/execute", b"", {}, "METHOD_NOT_ALLOWED"),
    "DELETE /health": ("DELETE", "/health", b"", {}, "METHOD_NOT_ALLOWED"),
    "PUT /cancel": ("PUT", "/cancel", b'{"job_id":"x"}', JSON, "METHOD_NOT_ALLOWED"),
}


def _send(c: httpx.Client, case: str) -> httpx.Response:
    method, path, content, headers, _ = CASES[case]
    return c.request(method, path, content=content, headers=headers)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_gets_a_json_error_from_the_tables(w: WorkerUnderTest, case: str) -> None:
    key = CASES[case][4]
    with w.client() as c:
        r = _send(c, case)
    entry = CONTRACT.errors[key]
    assert r.status_code == entry.status, r.text[:300]
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert (body["code"], body["message"], body["retriable"]) == (key, entry.message, False)
    assert "Traceback" not in r.text and "File \"" not in r.text
    assert len(r.content) < 4096, "the answer must not echo the input"
    if key == "INVALID_PARAMETER":
        assert body["errors"] and all(e["message"] for e in body["errors"])
    if key == "METHOD_NOT_ALLOWED":
        assert CASES[case][0] not in r.headers["allow"] and r.headers["allow"]
    w.wait_idle()


def test_invalid_parameter_comes_from_the_contract_table() -> None:
    ffi = worker_ffi.ERRORS["INVALID_PARAMETER"]
    entry = CONTRACT.errors["INVALID_PARAMETER"]
    assert (entry.status, entry.message, entry.retriable) == (
        ffi.http_status, ffi.message, ffi.retriable)


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc to read RSS")
def test_memory_is_back_at_baseline_after_hostile_input(w: WorkerUnderTest) -> None:
    """The server runs in this process: its resident memory after 40 rounds of every hostile
    case is within a few MiB of what it was after one round (allocator noise), and the device
    memory is the model's alone."""
    with w.client() as c:
        for case in CASES:  # warm up: first-use allocations (imports, caches, pools)
            _send(c, case)
        gc.collect()
        before = _rss_bytes()
        for _ in range(40):
            for case in CASES:
                assert _send(c, case).status_code < 500
        gc.collect()
        after = _rss_bytes()
    grown = after - before
    assert grown < 8 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB"
    assert w.ctx.get_process_vram_usage() == w.model.vram_bytes_used
    assert w.runner.active_job_id is None
