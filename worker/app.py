"""The HTTP surface: POST /execute (SSE), POST /cancel, GET /health.

Bad input never reaches the runner: bodies are size-limited, must be JSON objects sent as
``application/json`` and pass :mod:`worker.validation`; failures answer 400 with one entry per
failing field and leave a running job untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import errors, sse
from .jobs import Item, Job, Runner
from .validation import FieldError, RequestInvalid, parse_cancel, parse_execute

log = logging.getLogger("worker.http")

# A maximal prompt (32768 characters) is at most 192 KiB of JSON even when every character is
# sent as a \uXXXX escape; 256 KiB leaves room for the other fields.
MAX_BODY_BYTES = 256 * 1024


@dataclass
class WorkerState:
    """What the routes need: the open handles, the runner and facts about this build."""

    lib: Any
    ctx: Any
    model: Any
    runner: Runner
    backend: str
    gpu_device: int


async def _read_json(request: Request) -> Any:
    """The decoded body, or raise RequestInvalid naming what is wrong with it."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise RequestInvalid([FieldError(
            "content-type", "media_type",
            f"Content-Type must be application/json, got {media_type or 'none'!r}")])
    too_large = RequestInvalid([FieldError(
        "body", "size", f"the body must be at most {MAX_BODY_BYTES} bytes")])
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        problem = FieldError("body", "utf8", f"the body is not UTF-8: {exc}")
        raise RequestInvalid([problem]) from exc
    except ValueError as exc:
        problem = FieldError("body", "json", f"the body is not valid JSON: {exc}")
        raise RequestInvalid([problem]) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class EventStream(StreamingResponse):
    """An SSE response that cancels its job when the stream ends early (client disconnect)."""

    def __init__(self, job: Job, first: Item) -> None:
        super().__init__(
            _events(job, first), media_type=sse.MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.job = job

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self.job.done.is_set():
                log.info("job %s: client disconnected; cancelling", self.job.job_id)
                self.job.cancel("client disconnected")


async def _events(job: Job, first: Item) -> AsyncIterator[bytes]:
    """The job's frames as they are produced; events already queued go out in one chunk."""
    yield sse.format_event(*first)
    while True:
        name, data = await job.queue.get()
        frames = [sse.format_event(name, data)]
        while name not in sse.TERMINAL_EVENTS and not job.queue.empty():
            name, data = job.queue.get_nowait()
            frames.append(sse.format_event(name, data))
        yield b"".join(frames)
        if name in sse.TERMINAL_EVENTS:
            return


def create_app(state: WorkerState) -> Starlette:
    runner = state.runner

    async def execute(request: Request) -> Response:
        try:
            req = parse_execute(await _read_json(request))
        except RequestInvalid as exc:
            return errors.invalid_request(exc.errors)
        except ClientDisconnect:
            return Response(status_code=400)
        job = runner.submit(req, asyncio.get_running_loop())
        if job is None:
            return errors.busy_response()
        first = await job.queue.get()
        if first[0] == "start_failed":
            exc = first[1]
            log.warning("job %s: %s failed: key=%s detail=%s", req.job_id, exc.function, exc.key,
                        exc.detail)
            return errors.response(exc.key, exc.detail)
        return EventStream(job, first)

    async def cancel(request: Request) -> Response:
        try:
            job_id = parse_cancel(await _read_json(request))
        except RequestInvalid as exc:
            return errors.invalid_request(exc.errors)
        except ClientDisconnect:
            return Response(status_code=400)
        if runner.cancel(job_id):
            log.info("job %s: cancel requested", job_id)
        else:
            log.warning("cancel for job %s: not running (unknown or finished); nothing to do",
                        job_id)
        return JSONResponse({"status": "cancelling", "job_id": job_id}, status_code=202)

    async def health(request: Request) -> Response:
        return JSONResponse(health_report(state))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(runner.shutdown)

    return Starlette(
        routes=[
            Route("/execute", execute, methods=["POST"]),
            Route("/cancel", cancel, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def health_report(state: WorkerState) -> dict[str, Any]:
    """M0-W-1320, limited to what the contract can report truthfully.

    quant_kind and tokenizer_kind are not exposed by the contract (worker-tiny models are F32
    with a byte-level tokenizer, but the library does not say so), so they are listed under
    ``not_reported`` instead of being guessed.
    """
    resident = bool(state.model.check_vram_residency())
    device_ok = bool(state.ctx.check_device_health())
    problems = list(state.runner.faults)
    if not resident:
        problems.append("model weights are not resident in device memory")
    if not device_ok:
        problems.append("device reports an error")
    report: dict[str, Any] = {
        "status": "healthy" if not problems else "unhealthy",
        "resident": resident,
        "device_healthy": device_ok,
        "vram_bytes_used": state.ctx.get_process_vram_usage(),
        "model_vram_bytes": state.model.get_vram_usage(),
        "model": state.runner.model_name,
        "backend": state.backend,
        "gpu_device": state.gpu_device,
        "busy": state.runner.active_job_id is not None,
        "vocab_size": state.model.get_vocab_size(),
        "context_length": state.model.get_context_length(),
        "contract_version": state.lib.contract_version(),
        "not_reported": ["quant_kind", "tokenizer_kind"],
    }
    if problems:
        report["problems"] = problems
    return report
