"""Cancellation (M0-W-1330) and disconnects against a real server on 127.0.0.1.

long.gguf is a random worker-tiny model (conformance.models.write_large) on which greedy
decoding does not reach EOS, so a job with max_tokens=2048 runs for seconds unless cancelled.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest

import worker_ffi
from conformance import models
from worker.contract import Contract
from worker.jobs import Job, Runner  # noqa: E402
from worker.sse import TERMINAL_EVENTS, parse_events  # noqa: E402
from worker.testing import WorkerUnderTest, execute, worker_under_test  # noqa: E402
from worker.validation import parse_execute  # noqa: E402

LONG = {"prompt": "Hello", "max_tokens": 2048, "temperature": 0}
CANCELLED = worker_ffi.ERRORS["CANCELLED"]


def long_model(out: Path) -> Path:
    return models.write_large(out / "long.gguf", weight_bytes=2 * 1024 * 4 * 4096, d=1024)


@pytest.fixture(scope="module")
def long_worker(tmp_path_factory: pytest.TempPathFactory):
    with worker_under_test(str(long_model(tmp_path_factory.mktemp("long")))) as w:
        yield w


@pytest.fixture()
def w(long_worker: WorkerUnderTest):
    baseline = long_worker.ctx.get_process_vram_usage()
    yield long_worker
    long_worker.wait_idle()
    assert long_worker.ctx.get_process_vram_usage() == baseline


class OpenStream:
    """A /execute stream read event by event, so the test can act between events."""

    def __init__(self, client: httpx.Client, job_id: str, **overrides: object) -> None:
        self._cm = client.stream("POST", "/execute", json={**LONG, **overrides, "job_id": job_id})
        self.response = self._cm.__enter__()
        assert self.response.status_code == 200, self.response.read()
        self._events = parse_events(self.response.iter_lines())
        self.events: list[tuple[str, object]] = []

    def next(self) -> tuple[str, object]:
        event = next(self._events)
        self.events.append(event)
        return event

    def rest(self) -> list[tuple[str, object]]:
        self.events.extend(self._events)
        self.close()
        return self.events

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


def assert_cancelled(events: list[tuple[str, object]]) -> None:
    names = [n for n, _ in events]
    assert names[0] == "started" and names[-1] == "error", names
    assert sum(n in TERMINAL_EVENTS for n in names) == 1, names
    assert set(names[1:-1]) <= {"token"}
    data = events[-1][1]
    assert data == {"code": CANCELLED.key, "message": CANCELLED.message,
                    "retriable": CANCELLED.retriable, **({"detail": data["detail"]}
                                                         if "detail" in data else {})}
    assert len(names) - 2 < LONG["max_tokens"]


def cancel(client: httpx.Client, job_id: str) -> None:
    r = client.post("/cancel", json={"job_id": job_id})
    assert (r.status_code, r.json()) == (202, {"status": "cancelling", "job_id": job_id})


def test_cancel_mid_stream(w: WorkerUnderTest) -> None:
    with w.client() as c:
        s = OpenStream(c, "mid")
        assert s.next()[0] == "started"
        for _ in range(3):
            assert s.next()[0] == "token"
        cancel(c, "mid")
        assert_cancelled(s.rest())
        assert c.get("/health").json()["busy"] is False


def test_cancel_right_after_started(w: WorkerUnderTest) -> None:
    with w.client() as c:
        s = OpenStream(c, "early")
        assert s.next()[0] == "started"
        cancel(c, "early")
        assert_cancelled(s.rest())


def test_cancel_while_the_native_start_runs_wins_before_the_first_token(
        w: WorkerUnderTest) -> None:
    # Deterministic form of "cancel before the first token": the flag is set before the handle
    # is attached, so the very first next_token must report CANCELLED.
    job = Job(parse_execute({"job_id": "pre", **LONG}), asyncio.new_event_loop())
    assert job.cancel("test") is True
    inference = w.model.start("Hello", max_tokens=8, temperature=0.0, seed=1)
    try:
        job._attach(inference)
        with pytest.raises(worker_ffi.CancelledError) as info:
            inference.next_token()
        assert info.value.key == "CANCELLED"
    finally:
        job._detach()
        inference.close()
        job.loop.close()


def test_cancel_twice_and_concurrently(w: WorkerUnderTest) -> None:
    with w.client() as c:
        s = OpenStream(c, "many")
        s.next()
        s.next()
        cancel(c, "many")
        cancel(c, "many")

        async def burst() -> list[httpx.Response]:
            async with w.async_client() as ac:
                return await asyncio.gather(
                    *[ac.post("/cancel", json={"job_id": "many"}) for _ in range(16)])

        for r in asyncio.run(burst()):
            assert (r.status_code, r.json()) == (202, {"status": "cancelling", "job_id": "many"})
        assert_cancelled(s.rest())


def test_concurrent_cancels_from_threads_while_streaming(w: WorkerUnderTest) -> None:
    with w.client() as c:
        s = OpenStream(c, "threads")
        s.next()
        start = threading.Barrier(8)

        def hit() -> None:
            with w.client() as tc:
                start.wait()
                cancel(tc, "threads")

        threads = [threading.Thread(target=hit) for _ in range(8)]
        for t in threads:
            t.start()
        events = s.rest()
        for t in threads:
            t.join()
        assert_cancelled(events)


def test_cancel_after_end_changes_nothing(w: WorkerUnderTest) -> None:
    with w.client() as c:
        s = execute(c, {"job_id": "ended", "prompt": "Hello", "max_tokens": 3, "temperature": 0})
        assert s.terminal == ("end", s.terminal[1]) and s.terminal[1]["stop_reason"] == "MAX_TOKENS"
        cancel(c, "ended")
        cancel(c, "ended")
        again = execute(c, {"job_id": "ended", "prompt": "Hello", "max_tokens": 3,
                            "temperature": 0})
        assert again.events[1:] == s.events[1:] or again.text == s.text


def test_cancel_of_another_id_leaves_the_running_job_alone(w: WorkerUnderTest) -> None:
    with w.client() as c:
        s = OpenStream(c, "mine")
        s.next()
        cancel(c, "someone-else")
        cancel(c, "mine-")  # a prefix or extension of the id is a different id
        for _ in range(20):
            assert s.next()[0] == "token"
        cancel(c, "mine")
        assert_cancelled(s.rest())


def test_second_job_while_busy_gets_503_and_the_first_is_undisturbed(w: WorkerUnderTest) -> None:
    with w.client() as c:
        s = OpenStream(c, "first")
        s.next()
        r = c.post("/execute", json={**LONG, "job_id": "second"})
        busy = Contract.load().errors["WORKER_BUSY"]
        assert r.status_code == busy.status == 503
        assert r.json()["retriable"] is True and r.json()["code"] == "WORKER_BUSY"
        assert r.headers["Retry-After"] == str(Contract.load().retry_after_seconds)
        assert c.get("/health").json()["busy"] is True
        # bad input of every kind while the job runs
        assert c.post("/execute", content=b"{oops", headers={"content-type":
                                                              "application/json"}).status_code == 400
        assert c.post("/cancel", content=b"{oops", headers={"content-type":
                                                             "application/json"}).status_code == 400
        assert c.post("/cancel", json={"job_id": ""}).status_code == 400
        assert c.post("/cancel", data={"job_id": "first"}).status_code == 415
        assert c.post("/execute", json={"job_id": "x", "prompt": "p",
                                        "max_tokens": 0}).status_code == 400
        for _ in range(10):
            assert s.next()[0] == "token"
        cancel(c, "first")
        assert_cancelled(s.rest())


@pytest.mark.parametrize("tokens_read", [0, 5])
def test_client_disconnect_cancels_the_job(w: WorkerUnderTest, tokens_read: int) -> None:
    with w.client() as c:
        s = OpenStream(c, f"gone-{tokens_read}")
        s.next()
        for _ in range(tokens_read):
            s.next()
        t0 = time.monotonic()
        s.close()
        w.wait_idle(timeout=2.0)
        # an uncancelled 2048-token job on this model takes far longer than this
        assert time.monotonic() - t0 < 1.0
        assert execute(c, {"job_id": "after-gone", "prompt": "Hello",
                           "max_tokens": 2, "temperature": 0}).terminal[0] == "end"


def test_exactly_one_terminal_event_under_cancel_races(w: WorkerUnderTest) -> None:
    """Cancels land before the first token, mid-stream, near the end and after the end."""
    outcomes: dict[str, int] = {"end": 0, "error": 0}
    with w.client() as c:
        for k in range(60):
            job_id = f"race-{k}"
            s = OpenStream(c, job_id, max_tokens=1 + (k % 6) * 2)
            s.next()
            for _ in range(k % 3):
                if s.next()[0] in TERMINAL_EVENTS:
                    break
            cancel(c, job_id)
            events = s.events if s.events[-1][0] in TERMINAL_EVENTS else s.rest()
            s.close()
            names = [n for n, _ in events]
            assert sum(n in TERMINAL_EVENTS for n in names) == 1 and names[-1] in TERMINAL_EVENTS
            assert names[0] == "started"
            if names[-1] == "error":
                assert events[-1][1]["code"] == "CANCELLED"
            outcomes[names[-1]] += 1
            cancel(c, job_id)  # after the end: still 202, nothing happens
    # Which side wins each race depends on scheduling (a loaded CI machine can finish every
    # short job first); the deterministic cases above pin both outcomes. Here every race must
    # still end in exactly one terminal event.
    assert outcomes["error"] + outcomes["end"] == 60, outcomes


class _SlowToStop:
    """An inference that takes ``stop_after`` seconds to notice a cancel (a long native step)."""

    def __init__(self, stop_after: float) -> None:
        self.stop_after = stop_after
        self.cancelled = threading.Event()

    def next_token(self) -> str:
        if self.cancelled.wait(0.01):
            time.sleep(self.stop_after)
            raise worker_ffi.CancelledError(worker_ffi.ERRORS["CANCELLED"].code, "next_token")
        return "x"

    def cancel(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        pass


class _SlowModel:
    def __init__(self, stop_after: float) -> None:
        self.stop_after = stop_after

    def start(self, prompt: str, **_: object) -> _SlowToStop:
        return _SlowToStop(self.stop_after)


@pytest.mark.parametrize("how", ["cancel requested", "client disconnected"])
def test_a_stopping_job_is_waited_for_not_answered_busy(how: str) -> None:
    """The next request after a cancel or a dropped stream starts once the stopping job has
    freed the model (here 0.3 s later), instead of getting WORKER_BUSY in that window."""
    runner = Runner(_SlowModel(stop_after=0.3), "slow")
    loop = asyncio.new_event_loop()
    try:
        first = runner.submit(parse_execute({"job_id": "first", **LONG}), loop)
        assert first is not None
        assert first.cancel(how) is True
        t0 = time.monotonic()
        second = loop.run_until_complete(
            runner.submit_when_free(parse_execute({"job_id": "second", **LONG}), loop))
        assert second is not None and first.done.is_set()
        assert 0.2 < time.monotonic() - t0 < 5.0
        second.cancel("test over")
    finally:
        runner.shutdown()
        loop.close()


def test_a_live_job_still_means_busy_at_once() -> None:
    runner = Runner(_SlowModel(stop_after=0.0), "slow")
    loop = asyncio.new_event_loop()
    try:
        assert runner.submit(parse_execute({"job_id": "live", **LONG}), loop) is not None
        t0 = time.monotonic()
        assert loop.run_until_complete(
            runner.submit_when_free(parse_execute({"job_id": "next", **LONG}), loop)) is None
        assert time.monotonic() - t0 < 0.5  # no waiting for a job nobody stopped
    finally:
        runner.shutdown()
        loop.close()
