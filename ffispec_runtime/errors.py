"""The exception hierarchy of generated bindings and the one place that turns a code into one.

Each generated package declares its own base class (`targets.python.error_base`, for example
`WorkerFfiError`) as a subclass of `FfiError` and registers its error table on it with
`register_table`; one subclass per error code follows. The table lives on the package's base,
so two generated packages loaded in one process keep their codes apart.

Native failures raise a subclass of the package's base (one per error code). Failures found in
Python before any native call (a closed handle, a missing or mismatched library, a broken
precondition) raise a `BindingError`: the library never saw them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar, NamedTuple


class ErrorInfo(NamedTuple):
    """One row of a generated error table. `http_status` and `retriable` are None where the
    spec has no HTTP extension."""

    code: int
    name: str
    key: str
    message: str
    http_status: int | None
    retriable: bool | None


class FfiError(Exception):
    """A native call reported an error code.

    `code` and `key` identify the error (`key` is the stable string of the spec's table),
    `function` is the C function that failed, `detail` the library's detail text read right
    after the failing call (empty where the spec has no detail source), `message` the pinned
    message of the code, `http_status` and `retriable` the spec's HTTP mapping (None without
    one).
    """

    info: ClassVar[ErrorInfo | None] = None  # set on each per-code subclass
    # Set on a package's base class by register_table, shared by its subclasses.
    _rows: ClassVar[dict[int, ErrorInfo]] = {}
    _classes: ClassVar[dict[int, type[FfiError]]] = {}
    _unknown: ClassVar[ErrorInfo | None] = None
    _unrecognized: ClassVar[str] = "Unrecognized error code"
    _violation: ClassVar[type[FfiError] | None] = None

    code: int
    key: str
    function: str
    detail: str
    message: str
    http_status: int | None
    retriable: bool | None

    def __init__(self, code: int, function: str, detail: str = "") -> None:
        super().__init__(code, function, detail)
        row = type(self).row_for(code)
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
            cls._classes[cls.info.code] = cls

    @classmethod
    def row_for(cls, code: int) -> ErrorInfo:
        """The table row of `code`; an unrecognised value reads as the spec's `unknown` row
        (keeping its own number), or as a row of its own when the spec has none."""
        row = cls._rows.get(code)
        if row is not None:
            return row
        if cls._unknown is not None:
            return cls._unknown._replace(code=code)
        return ErrorInfo(code, "", "UNRECOGNIZED", cls._unrecognized, None, None)

    @classmethod
    def class_for(cls, code: int) -> type[FfiError]:
        """The class raised for `code` when the failing function declares it."""
        return cls._classes.get(code) or cls._violation or ContractViolationError

    def __str__(self) -> str:
        text = f"{self.function}: {self.key} ({self.code}): {self.message}"
        return f"{text}: {self.detail}" if self.detail else text

    def __reduce__(self) -> tuple[type[FfiError], tuple[int, str, str]]:
        return type(self), (self.code, self.function, self.detail)


class ContractViolationError(FfiError):
    """The library reported a code outside the function's declared set, or broke another
    promise of the contract (NULL result with code 0). This is drift between the library
    and the spec, not a caller error: report it to the library's owners."""

    def __str__(self) -> str:
        return (f"{super().__str__()} [contract violation: {self.function} may not report "
                f"this; the library and its spec have drifted]")


def register_table(base: type[FfiError], rows: Collection[ErrorInfo], unknown_key: str | None,
                   violation: type[FfiError], unrecognized: str = "Unrecognized error code") -> None:
    """Called once by a generated module: `base` becomes the owner of the spec's table."""
    base._rows = {row.code: row for row in rows}
    base._classes = {}
    base._unknown = next((row for row in rows if row.key == unknown_key), None)
    base._unrecognized = unrecognized
    base._violation = violation


def raise_error(base: type[FfiError], function: str, code: int, detail: str,
                declared: Collection[int]) -> None:
    """Raise the exception for a failure `code` reported by `function`."""
    cls = base._classes.get(code) if code in declared else None
    raise (cls or base._violation or ContractViolationError)(code, function, detail)


class BindingError(Exception):
    """A failure found by the bindings themselves, before or without a native call."""


class HandleClosedError(BindingError, ValueError):
    """A method was called on a handle that was closed (explicitly, by closing its parent,
    or by leaving its `with` block). No native call was made."""


class PreconditionError(BindingError, ValueError):
    """An argument breaks a precondition of the spec: the library would have undefined
    behaviour, so the bindings refuse the call. No native call was made."""


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
