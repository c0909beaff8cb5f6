"""One job at a time on the bindings: a generation thread per job feeding an asyncio queue.

``next_token`` blocks in native code (cffi releases the GIL), so each job decodes in its own
thread and hands events to the event loop with ``call_soon_threadsafe``. Cancellation comes from
the event-loop thread: it calls ``Inference.cancel()``, which the contract allows concurrently with
``next_token``; the next ``next_token`` raises ``worker_ffi.CancelledError`` and the job ends with
an ``error`` event carrying ``CANCELLED``.

Invariants, each relied on by the HTTP layer and checked by tests/test_worker_*.py:
- every job's queue receives exactly one terminal item (``end``, ``error`` or ``start_failed``),
  and it is the last item;
- the inference handle is closed and the busy slot released *before* that terminal item is
  queued, so a client that has seen ``end`` can start the next job at once and device memory is
  back to its baseline;
- ``cancel`` and ``close`` never race on a handle: both happen under ``Job._lock``;
- a new job is refused as busy only while the running job is live: one that was told to stop
  (cancelled, or its client disconnected) is waited for (:meth:`Runner.submit_when_free`), so a
  client that drops a stream and sends the next request at once is not refused.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import worker_ffi

from . import errors
from .validation import ExecuteRequest

log = logging.getLogger("worker.jobs")

# The contract's stop reasons as M0-W-1312 names them in the `end` event. MAX_TOKENS covers the
# model's context length too: the token budget is whichever of the two runs out first.
STOP_REASONS = {
    worker_ffi.StopReason.EOS: "EOS",
    worker_ffi.StopReason.MAX_TOKENS: "MAX_TOKENS",
}

# How long a new job waits for a job that was told to stop (POST /cancel, or its client went
# away) to free the model: a cancelled job ends at its next token, well within this.
STOPPING_GRACE_S = 5.0

# Queue items are (event name, payload). "start_failed" carries the exception instead of a payload
# and never reaches the wire: the HTTP layer answers it with a plain error response.
Item = tuple[str, Any]


@dataclass(eq=False)
class Job:
    """One request's generation, shared by its thread, its SSE stream and POST /cancel."""

    request: ExecuteRequest
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Item] = field(default_factory=asyncio.Queue)
    cancel_reason: str | None = None
    _inference: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def job_id(self) -> str:
        return self.request.job_id

    def emit(self, name: str, data: Any) -> None:
        """Queue an event for the stream; called from the generation thread."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (name, data))
        except RuntimeError:  # the loop has closed (server shutdown): nobody is listening
            pass

    def cancel(self, reason: str) -> bool:
        """Ask the job to stop; idempotent, callable from any thread. True if it was running."""
        with self._lock:
            if self.cancel_reason is None:
                self.cancel_reason = reason
            if self._inference is not None:
                self._inference.cancel()
                return True
            return not self.done.is_set()

    def _attach(self, inference: Any) -> None:
        with self._lock:
            self._inference = inference
            if self.cancel_reason is not None:  # cancelled while cuda_inference_start ran
                inference.cancel()

    def _detach(self) -> Any:
        with self._lock:
            inference, self._inference = self._inference, None
            return inference


class Runner:
    """Owns the loaded model and runs at most one job on it (M0-W-1301: batch size 1)."""

    def __init__(self, model: Any, model_name: str) -> None:
        self._model = model
        self.model_name = model_name
        self._lock = threading.Lock()
        self._active: Job | None = None
        self._thread: threading.Thread | None = None
        self.faults: list[str] = []  # M0-W-1021: an OOM during inference marks us unhealthy

    @property
    def active_job_id(self) -> str | None:
        job = self._active
        return None if job is None else job.job_id

    def submit(self, request: ExecuteRequest, loop: asyncio.AbstractEventLoop) -> Job | None:
        """Start a job, or return None when one is already running."""
        with self._lock:
            if self._active is not None:
                return None
            job = Job(request, loop)
            self._active = job
            self._thread = threading.Thread(
                target=self._run, args=(job,), name=f"job-{request.job_id[:32]}", daemon=True
            )
            self._thread.start()
        return job

    async def submit_when_free(self, request: ExecuteRequest, loop: asyncio.AbstractEventLoop,
                               grace: float = STOPPING_GRACE_S) -> Job | None:
        """:meth:`submit`, except that a running job already told to stop (cancelled, or its
        client gone) is waited for, up to ``grace`` seconds, instead of answering busy: it is
        only freeing its handle. None while a live job runs, or when the stopping one overruns."""
        job = self.submit(request, loop)
        if job is not None:
            return job
        with self._lock:
            stopping = self._active
        if stopping is None or stopping.cancel_reason is None:
            return self.submit(request, loop)  # it may have ended since; else a live job: busy
        await asyncio.to_thread(stopping.done.wait, grace)
        return self.submit(request, loop)

    def cancel(self, job_id: str, reason: str = "cancel requested") -> bool:
        """Cancel the running job if its id is ``job_id``; False for unknown or finished jobs."""
        with self._lock:
            job = self._active
        if job is None or job.job_id != job_id:
            return False
        return job.cancel(reason)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel the running job, if any, and wait for its thread to free the handle."""
        with self._lock:
            job, thread = self._active, self._thread
        if job is not None:
            job.cancel("worker shutting down")
        if thread is not None:
            thread.join(timeout)

    # ------------------------------------------------------------- generation thread

    def _run(self, job: Job) -> None:
        terminal: Item = ("error", errors.payload("UNKNOWN", "generation thread ended early"))
        try:
            req = job.request
            try:
                inference = self._model.start(
                    req.prompt, max_tokens=req.max_tokens, temperature=req.temperature,
                    seed=req.seed,
                )
            except worker_ffi.WorkerFfiError as exc:
                terminal = ("start_failed", exc)
                return
            job._attach(inference)
            job.emit("started", {
                "job_id": job.job_id,
                "model": self.model_name,
                "started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "seed": req.seed,
            })
            terminal = self._decode(job, inference)
        except BaseException as exc:  # a bug here must still end the stream and free the handle
            log.exception("job %s: unexpected failure", job.job_id)
            terminal = ("error", errors.payload("UNKNOWN", f"worker: {exc!r}"))
        finally:
            inference = job._detach()
            if inference is not None:
                inference.close()
            with self._lock:
                self._active = None
            job.done.set()
            job.emit(*terminal)

    def _decode(self, job: Job, inference: Any) -> Item:
        req = job.request
        tokens_out = 0
        text = ""
        window = max((len(s) for s in req.stop), default=0)
        t0 = time.perf_counter()

        def end(stop_reason: str, **extra: Any) -> Item:
            decode_ms = (time.perf_counter() - t0) * 1000.0
            return ("end", {"tokens_out": tokens_out, "decode_time_ms": round(decode_ms, 3),
                            "stop_reason": stop_reason, **extra})

        try:
            while True:
                piece = inference.next_token()
                if piece is None:
                    # The library knows why generation stopped; pieces are not tokens (a split
                    # character spans several), so the count cannot tell.
                    reason = worker_ffi.StopReason(inference.stop_reason())
                    return end(STOP_REASONS[reason])
                job.emit("token", {"t": piece, "i": tokens_out})
                tokens_out += 1
                if window:
                    text = (text + piece)[-(window + len(piece)):]
                    for stop in req.stop:
                        if stop in text:
                            return end("STOP_SEQUENCE", stop_sequence_matched=stop)
        except worker_ffi.CancelledError as exc:
            log.info("job %s: cancelled after %d tokens (%s)", job.job_id, tokens_out,
                     job.cancel_reason)
            return ("error", errors.payload_for_exception(exc))
        except worker_ffi.WorkerFfiError as exc:
            log.error("job %s: %s failed: code=%d key=%s detail=%s", job.job_id, exc.function,
                      exc.code, exc.key, exc.detail)
            if exc.key == "VRAM_OOM":
                self.faults.append(f"VRAM_OOM during job {job.job_id!r}: {exc.detail}")
            return ("error", errors.payload_for_exception(exc))
