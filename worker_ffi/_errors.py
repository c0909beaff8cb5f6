"""The exception hierarchy of the bindings and the one place that turns a code into one.

Native failures raise a subclass of `WorkerFfiError` (one per error code, generated from the
spec's table in `_generated.py`, which registers them here as it is imported). Failures found
in Python before any native call (a closed handle, a missing or mismatched library) raise a
`BindingError`: they have no error code because the library never saw them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar, NamedTuple


class ErrorInfo(NamedTuple):
    """One row of the generated error table."""

    code: int
    name: str
    key: str
    message: str
    http_status: int
    retriable: bool


_BY_CODE: dict[int, ErrorInfo] = {}
_CLASS_BY_CODE: dict[int, type[WorkerFfiError]] = {}
_UNKNOWN: list[ErrorInfo] = []


def register_table(rows: Collection[ErrorInfo], unknown_key: str) -> None:
    """Called once by the generated module with the spec's error table."""
    _BY_CODE.update({row.code: row for row in rows})
    _UNKNOWN[:] = [row for row in rows if row.key == unknown_key]


def error_for(code: int) -> ErrorInfo:
    """The table row of `code`; an unrecognised value reads as the UNKNOWN row (the spec's
    rule for extensible tables), keeping its own number."""
    row = _BY_CODE.get(code)
    if row is not None:
        return row
    return _UNKNOWN[0]._replace(code=code)


class WorkerFfiError(Exception):
    """A native call reported a non-zero error code.

    `code` and `key` identify the error (`key` is the stable string, e.g. `"VRAM_OOM"`),
    `function` is the C function that failed, `detail` the library's thread-local detail
    message read right after the failing call, `message` the pinned message of the code,
    `http_status` and `retriable` the spec's HTTP mapping.
    """

    info: ClassVar[ErrorInfo | None] = None  # set on each per-code subclass

    code: int
    key: str
    function: str
    detail: str
    message: str
    http_status: int
    retriable: bool

    def __init__(self, code: int, function: str, detail: str = "") -> None:
        super().__init__(code, function, detail)
        row = error_for(code)
        self.code = code
        self.key = row.key
        self.message = row.message
        self.http_status = row.http_status
        self.retriable = row.retriable
        self.function = function
        self.detail = detail

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.info is not None:
            _CLASS_BY_CODE[cls.info.code] = cls

    def __str__(self) -> str:
        text = f"{self.function}: {self.key} ({self.code}): {self.message}"
        return f"{text}: {self.detail}" if self.detail else text

    def __reduce__(self) -> tuple[type[WorkerFfiError], tuple[int, str, str]]:
        return type(self), (self.code, self.function, self.detail)


class ContractViolationError(WorkerFfiError):
    """The library reported a code outside the function's declared set, or broke another
    promise of the contract (NULL result with code 0). This is drift between the library
    and the spec, not a caller error: report it to the library's owners."""

    def __str__(self) -> str:
        return (f"{super().__str__()} [contract violation: {self.function} may not report "
                f"this; the library and spec/worker_ffi.yaml have drifted]")


def exception_class(code: int) -> type[WorkerFfiError]:
    """The class raised for `code` when the failing function declares it."""
    return _CLASS_BY_CODE.get(code, ContractViolationError)


def raise_error(function: str, code: int, detail: str, declared: Collection[int]) -> None:
    """Raise the exception for a non-zero `code` reported by `function`; code 0 returns."""
    if not code:
        return
    cls = _CLASS_BY_CODE.get(code) if code in declared else None
    raise (cls or ContractViolationError)(code, function, detail)


class BindingError(Exception):
    """A failure found by the bindings themselves, before or without a native call."""


class HandleClosedError(BindingError, ValueError):
    """A method was called on a handle that was closed (explicitly, by closing its parent,
    or by leaving its `with` block). No native call was made."""


class LibraryNotFoundError(BindingError, FileNotFoundError):
    """The native library (or the compiled bindings) could not be found; the message names
    what was looked for and the command that builds it."""


class LibraryLoadError(BindingError, OSError):
    """The file exists but the dynamic loader refused it (not a shared library, wrong
    architecture, missing dependency)."""


class ContractMismatchError(BindingError):
    """The library was built from a different contract than these bindings. The message
    names both versions and hashes and the command that rebuilds the library."""

    def __init__(self, message: str, *, library_hash: str = "", bindings_hash: str = "",
                 library_version: str = "", bindings_version: str = "") -> None:
        super().__init__(message)
        self.library_hash = library_hash
        self.bindings_hash = bindings_hash
        self.library_version = library_version
        self.bindings_version = bindings_version
