"""Benchmark the worker HTTP service on the host backend, over 127.0.0.1 only.

    python bench/bench_worker.py [--cancels 250] [--jobs 15] [--d 256] [--vocab 4096]

Starts ``python -m worker`` in a subprocess on a generated worker-tiny model
(conformance.models.write_large) and measures:

1. Cancel latency: a job (max_tokens=2048, greedy) streams; once its first token has arrived the
   client sends POST /cancel on a second connection and times until the stream's ``error``
   event (code CANCELLED) arrives. p50, p99 and max over all cancels; target p99 < 10 ms.
2. Streaming overhead: tokens per second of whole jobs through SSE (request sent to terminal
   event received) versus the raw bindings loop (``for piece in model.start(...)``) in this
   process on the same model file. Medians over the jobs, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance import models  # noqa: E402
from worker.testing import open_library  # noqa: E402

LONG_JOB = {"prompt": "Hello", "max_tokens": 2048, "temperature": 0}


def library_path(backend: str) -> str:
    import worker_ffi

    env = os.environ.get("WORKER_FFI_LIBRARY")
    if env:
        return env
    try:
        worker_ffi.load(backend=backend)
        return ""  # the installed extension works; the worker needs no --library
    except worker_ffi.LibraryNotFoundError:
        return str(ROOT / "native" / "build" / backend / "libworker_ffi.so")


def start_worker(model: Path, library: str, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m worker`` on port 0; its log goes to a file (a pipe nobody drains would fill
    up and stall it) and the bound port is read from uvicorn's start-up line."""
    cmd = [sys.executable, "-m", "worker", "--model", str(model), "--backend", "host",
           "--gpu-device", "0", "--port", "0", "--log-level", "info"]
    if library:
        cmd += ["--library", library]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log_path.read_text())
        if found:
            return proc, found.group(1)
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"worker did not start; its log:\n{log_path.read_text()}")


async def events(response: httpx.Response):  # type: ignore[no-untyped-def]
    name, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            yield name, json.loads(data)
            name, data = "message", ""


async def cancel_latencies(base: str, count: int) -> list[float]:
    out: list[float] = []
    limits = httpx.Limits(max_connections=4)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as stream_client, \
            httpx.AsyncClient(base_url=base, timeout=30) as cancel_client:
        await cancel_client.get("/health")  # open the cancel connection up front
        for k in range(count):
            job_id = f"bench-cancel-{k}"
            async with stream_client.stream("POST", "/execute",
                                            json={**LONG_JOB, "job_id": job_id}) as r:
                it = events(r)
                assert (await it.__anext__())[0] == "started"
                assert (await it.__anext__())[0] == "token"
                t0 = time.perf_counter()
                cancel = asyncio.create_task(cancel_client.post("/cancel",
                                                                json={"job_id": job_id}))
                async for name, data in it:
                    if name in ("end", "error"):
                        t1 = time.perf_counter()
                        assert name == "error" and data["code"] == "CANCELLED", (name, data)
                        break
                assert (await cancel).status_code == 202
            out.append((t1 - t0) * 1000.0)
    return out


def sse_rate(client: httpx.Client, job_id: str) -> float:
    t0 = time.perf_counter()
    n = 0
    with client.stream("POST", "/execute", json={**LONG_JOB, "job_id": job_id}) as r:
        for line in r.iter_lines():
            if line == "event: token":
                n += 1
            elif line == "event: end":
                break
    return n / (time.perf_counter() - t0)


def raw_rate(model: Any) -> float:
    t0 = time.perf_counter()
    with model.start(LONG_JOB["prompt"], max_tokens=2048, temperature=0.0, seed=0) as inf:
        n = sum(1 for _ in inf)
    return n / (time.perf_counter() - t0)


def rates(base: str, model_path: Path, jobs: int) -> tuple[list[float], list[float]]:
    """Alternate SSE and raw jobs so that machine noise hits both alike."""
    lib = open_library("host")
    sse, raw = [], []
    with lib.init(gpu_device=0) as ctx, ctx.load_model(str(model_path)) as model, \
            httpx.Client(base_url=base, timeout=60) as client:
        for k in range(jobs):
            sse.append(sse_rate(client, f"bench-rate-{k}"))
            raw.append(raw_rate(model))
    return sse, raw


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cancels", type=int, default=250)
    ap.add_argument("--jobs", type=int, default=9)
    ap.add_argument("--d", type=int, default=256, help="embedding width of the bench model")
    ap.add_argument("--vocab", type=int, default=4096, help="vocabulary size of the bench model")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model = models.write_large(Path(tmp) / "bench.gguf",
                                   weight_bytes=2 * args.d * 4 * args.vocab, d=args.d)
        proc, base = start_worker(model, library_path("host"), Path(tmp) / "worker.log")
        try:
            latencies = asyncio.run(cancel_latencies(base, args.cancels))
            sse, raw = rates(base, model, args.jobs)
        finally:
            proc.terminate()
            proc.wait(10)

    figures: dict[str, Any] = {
        "model": {"d": args.d, "vocab": args.vocab},
        "cancel_latency_ms": {"n": len(latencies), "p50": round(pct(latencies, 50), 3),
                              "p99": round(pct(latencies, 99), 3),
                              "max": round(max(latencies), 3)},
        "tokens_per_s": {"sse_median": round(statistics.median(sse), 1),
                         "raw_median": round(statistics.median(raw), 1),
                         "ratio_sse_over_raw": round(statistics.median(sse)
                                                     / statistics.median(raw), 3),
                         "jobs": args.jobs},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        c, t = figures["cancel_latency_ms"], figures["tokens_per_s"]
        print(f"model d={args.d} vocab={args.vocab}")
        print(f"cancel latency over {c['n']} cancels: p50 {c['p50']} ms, p99 {c['p99']} ms, "
              f"max {c['max']} ms (target p99 < 10 ms)")
        print(f"tokens/s median over {t['jobs']} jobs: SSE {t['sse_median']}, raw bindings "
              f"{t['raw_median']}, ratio {t['ratio_sse_over_raw']}")
    return 0 if pct(latencies, 99) < 10.0 else 1


if __name__ == "__main__":
    sys.exit(main())
