"""Bounded load: 500 sequential jobs and 200 cancels; device memory returns to its baseline."""

from __future__ import annotations

import time
from pathlib import Path

from conformance import models
from worker.sse import TERMINAL_EVENTS, parse_events  # noqa: E402
from worker.testing import execute, worker_under_test  # noqa: E402

SEQUENTIAL_JOBS = 500
CANCELS = 200


def test_sequential_jobs_leave_device_memory_at_baseline(tmp_path: Path) -> None:
    models.write_all(tmp_path)
    with worker_under_test(str(tmp_path / "tiny.gguf")) as w, w.client() as c:
        baseline = w.ctx.get_process_vram_usage()
        live = w.lib.testing_live_handles()
        t0 = time.perf_counter()
        for k in range(SEQUENTIAL_JOBS):
            s = execute(c, {"job_id": f"load-{k}", "prompt": "Hello", "max_tokens": 4,
                            "temperature": 1.0, "seed": k})
            assert s.status == 200 and s.names[0] == "started"
            assert s.terminal[0] == "end", s.events
            # the handle is freed before the terminal event is sent
            assert w.ctx.get_process_vram_usage() == baseline
        elapsed = time.perf_counter() - t0
        assert w.lib.testing_live_handles() == live
    print(f"{SEQUENTIAL_JOBS} sequential jobs in {elapsed:.2f} s")


def test_cancels_leave_device_memory_at_baseline(tmp_path: Path) -> None:
    path = models.write_large(tmp_path / "long.gguf", weight_bytes=2 * 1024 * 4 * 4096, d=1024)
    with worker_under_test(str(path)) as w, w.client() as c:
        baseline = w.ctx.get_process_vram_usage()
        live = w.lib.testing_live_handles()
        cancelled = 0
        for k in range(CANCELS):
            job_id = f"cancel-{k}"
            body = {"job_id": job_id, "prompt": "Hello", "max_tokens": 2048, "temperature": 0}
            with c.stream("POST", "/execute", json=body) as r:
                events = parse_events(r.iter_lines())
                seen = [next(events)[0]]
                for _ in range(k % 3):
                    seen.append(next(events)[0])
                assert c.post("/cancel", json={"job_id": job_id}).status_code == 202
                seen.extend(name for name, _ in events)
                tail = seen[-1]
            assert seen[0] == "started" and sum(n in TERMINAL_EVENTS for n in seen) == 1
            cancelled += tail == "error"
            assert w.ctx.get_process_vram_usage() == baseline
        assert cancelled == CANCELS
        assert w.lib.testing_live_handles() == live
