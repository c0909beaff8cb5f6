"""Error bodies and SSE error payloads, all from generated tables: the contract's error table
(``worker_ffi.ERRORS``, for failures of the native calls) and the service error table of the
HTTP contract (:mod:`worker.contract`: busy, too large, wrong media type, not found, method not
allowed, invalid request). This module only shapes them; a retriable answer carries the
contract's ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

import worker_ffi

from .contract import Contract, FieldError


def payload(key: str, detail: str | None = None) -> dict[str, Any]:
    """``{code, message, retriable[, detail]}`` for the contract's table entry ``key``."""
    info = worker_ffi.ERRORS[key]
    body: dict[str, Any] = {"code": info.key, "message": info.message, "retriable": info.retriable}
    if detail:
        body["detail"] = detail
    return body


def payload_for_exception(exc: worker_ffi.WorkerFfiError) -> dict[str, Any]:
    """The payload of a native error, with the library's detail message when there is one."""
    return payload(exc.key, exc.detail or None)


class Answers:
    """JSON error responses of one HTTP contract."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    def _json(self, body: dict[str, Any], status: int,
              headers: dict[str, str] | None = None) -> JSONResponse:
        headers = dict(headers or {})
        retry = self.contract.retry_after_seconds
        if body["retriable"] and retry is not None:
            headers["Retry-After"] = str(retry)
        return JSONResponse(body, status_code=status, headers=headers)

    def key_for_status(self, status: int) -> str | None:
        """The service error answered with ``status`` (Starlette's own 404 and 405)."""
        return next((e.key for e in self.contract.errors.values()
                     if e.status == status and not e.retriable), None)

    def native(self, key: str, detail: str | None = None) -> JSONResponse:
        """A failure of a native call: the contract table's status for ``key``."""
        return self._json(payload(key, detail), worker_ffi.ERRORS[key].http_status)

    def service(self, key: str, detail: str | None = None,
                headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
        """An answer from the service error table."""
        e = self.contract.errors[key]
        body: dict[str, Any] = {"code": e.key, "message": e.message, "retriable": e.retriable}
        if detail:
            body["detail"] = detail
        body.update(extra)
        return self._json(body, e.status, headers)

    def invalid(self, errors: list[FieldError],
                detail: str = "the request is invalid") -> JSONResponse:
        """INVALID_PARAMETER with one entry per failing field."""
        return self.service("INVALID_PARAMETER", detail, errors=[e.as_dict() for e in errors])
