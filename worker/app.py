"""The HTTP surface: POST /execute (SSE), POST /cancel, GET /health, GET /openapi.json.

Bad input never reaches the runner: bodies are size-limited (413), must be sent as
``application/json`` (415), must be JSON objects and pass the generated contract's request
rules (400, one entry per failing field); failures leave a running job untouched. Every error
answer, 404 and 405 included, is a JSON body from a generated error table; an unexpected
failure answers the table's UNKNOWN without a stack trace.
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
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import errors, sse
from .contract import Contract, FieldError, RequestInvalid
from .jobs import Item, Job, Runner
from .validation import Validator

log = logging.getLogger("worker.http")


@dataclass
class WorkerState:
    """What the routes need: the open handles, the runner and facts about this build."""

    lib: Any
    ctx: Any
    model: Any
    runner: Runner
    backend: str
    gpu_device: int


class BodyRefused(Exception):
    """The body cannot be read as a request: ``key`` names the service error to answer."""

    def __init__(self, key: str, detail: str, field_errors: list[FieldError] | None = None):
        super().__init__(detail)
        self.key, self.detail, self.field_errors = key, detail, field_errors


async def _read_json(request: Request, limit: int) -> Any:
    """The decoded body, or raise BodyRefused naming what is wrong with it."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BodyRefused("UNSUPPORTED_MEDIA_TYPE",
                          f"Content-Type must be application/json, got {media_type or 'none'!r}")
    too_large = BodyRefused("REQUEST_TOO_LARGE", f"the body must be at most {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise _invalid_body("utf8", f"the body is not UTF-8: {exc.reason} at byte {exc.start}") \
            from None
    except RecursionError:
        raise _invalid_body("depth", "the body nests too deeply") from None
    except ValueError as exc:  # also integers beyond Python's digit limit
        raise _invalid_body("json", f"the body is not valid JSON: {str(exc)[:200]}") from None


def _invalid_body(constraint: str, message: str) -> BodyRefused:
    return BodyRefused("INVALID_PARAMETER", "the request is invalid",
                       [FieldError("body", constraint, message)])


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


def create_app(state: WorkerState, contract: Contract | None = None) -> Starlette:
    """The service of ``state`` under ``contract`` (default: the generated document shipped
    with the package)."""
    contract = contract or Contract.load()
    validator = Validator(contract)
    answers = errors.Answers(contract)
    limit = contract.max_body_bytes
    runner = state.runner

    async def body_of(request: Request) -> Any:
        try:
            return await _read_json(request, limit)
        except BodyRefused as exc:
            if exc.field_errors:
                raise RequestInvalid(exc.field_errors) from None
            raise

    async def execute(request: Request) -> Response:
        try:
            req = validator.parse_execute(await body_of(request))
        except BodyRefused as exc:
            return answers.service(exc.key, exc.detail)
        except RequestInvalid as exc:
            return answers.invalid(exc.errors)
        except ClientDisconnect:  # nobody reads this answer; it is logged as any other
            return answers.service("INVALID_PARAMETER", "the client disconnected mid-body")
        job = await runner.submit_when_free(req, asyncio.get_running_loop())
        if job is None:
            return answers.service("WORKER_BUSY", "a job is running on this worker (batch size 1)")
        first = await job.queue.get()
        if first[0] == "start_failed":
            exc = first[1]
            log.warning("job %s: %s failed: key=%s detail=%s", req.job_id, exc.function, exc.key,
                        exc.detail)
            return answers.native(exc.key, exc.detail)
        return EventStream(job, first)

    async def cancel(request: Request) -> Response:
        try:
            job_id = validator.parse_cancel(await body_of(request))
        except BodyRefused as exc:
            return answers.service(exc.key, exc.detail)
        except RequestInvalid as exc:
            return answers.invalid(exc.errors)
        except ClientDisconnect:  # nobody reads this answer; it is logged as any other
            return answers.service("INVALID_PARAMETER", "the client disconnected mid-body")
        if runner.cancel(job_id):
            log.info("job %s: cancel requested", job_id)
        else:
            log.warning("cancel for job %s: not running (unknown or finished); nothing to do",
                        job_id)
        return JSONResponse({"status": "cancelling", "job_id": job_id}, status_code=202)

    async def health(request: Request) -> Response:
        return JSONResponse(health_report(state))

    async def openapi(request: Request) -> Response:
        return Response(contract.json_text, media_type="application/json")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        key = answers.key_for_status(exc.status_code)  # NOT_FOUND, METHOD_NOT_ALLOWED
        if key is None:
            return answers.invalid([FieldError("request", "http", str(exc.detail)[:200])])
        return answers.service(key, f"{request.method} {request.url.path}",
                               headers=dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected failure answering %s %s", request.method, request.url.path)
        return answers.native("UNKNOWN", "the worker failed unexpectedly; see its log")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(runner.shutdown)

    return Starlette(
        routes=[
            Route("/execute", execute, methods=["POST"]),
            Route("/cancel", cancel, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected},
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
