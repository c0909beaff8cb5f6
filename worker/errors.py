"""Error bodies and SSE error payloads, all derived from the generated table ``worker_ffi.ERRORS``.

The key, message, retriable flag and HTTP status of every error come from the spec's error table
through the bindings; this module only shapes them. The single exception is :data:`BUSY`: "a job
is already running" is a property of this service, not of the C contract, so the table has no
code for it (see the README's worker section).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

import worker_ffi

from .validation import FieldError

# M0-W-1301: batch size 1, one job at a time. Not an FFI condition, hence not in ERRORS.
BUSY: dict[str, Any] = {
    "code": "WORKER_BUSY",
    "message": "Another job is running; retry when it has finished",
    "retriable": True,
}
BUSY_HTTP_STATUS = 503


def payload(key: str, detail: str | None = None) -> dict[str, Any]:
    """``{code, message, retriable[, detail]}`` for the table entry ``key``."""
    info = worker_ffi.ERRORS[key]
    body: dict[str, Any] = {"code": info.key, "message": info.message, "retriable": info.retriable}
    if detail:
        body["detail"] = detail
    return body


def payload_for_exception(exc: worker_ffi.WorkerFfiError) -> dict[str, Any]:
    """The payload of a native error, with the library's detail message when there is one."""
    return payload(exc.key, exc.detail or None)


def response(key: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    """A JSON error response whose status is the table's ``http_status`` for ``key``."""
    body = payload(key, detail)
    body.update(extra)
    return JSONResponse(body, status_code=worker_ffi.ERRORS[key].http_status)


def invalid_request(
    errors: list[FieldError], detail: str = "the request is invalid"
) -> JSONResponse:
    """400 INVALID_PARAMETER with one entry per failing field."""
    return response("INVALID_PARAMETER", detail, errors=[e.as_dict() for e in errors])


def busy_response() -> JSONResponse:
    return JSONResponse(
        {**BUSY, "detail": "a job is running on this worker (batch size 1)"},
        status_code=BUSY_HTTP_STATUS,
    )
