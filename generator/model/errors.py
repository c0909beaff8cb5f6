"""The error table (pinned codes, their messages and optional HTTP mapping) and the error
channel through which a function reports a code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from generator.problems import Location


@dataclass(frozen=True)
class ErrorCode:
    name: str
    value: int
    key: str
    message: str
    http_status: int | None  # the optional HTTP extension of the error table
    retriable: bool | None
    doc: str
    since: str | None
    python_bases: tuple[str, ...]
    location: Location
    result: bool = False  # a non-error result code (`SQLITE_ROW`), declared `success: true`

    @property
    def is_success(self) -> bool:
        return self.value == 0

    @property
    def is_result(self) -> bool:
        """The code reports success (0) or a non-error result: no exception is raised for it."""
        return self.is_success or self.result

    @property
    def python_exception(self) -> str:
        """`VRAM_OOM` -> `VramOomError`; the Python class raised for this code."""
        return "".join(part.capitalize() for part in self.key.split("_")) + "Error"


@dataclass(frozen=True)
class ErrorTable:
    enum: str | None  # None: the codes are plain integers (macros of the library's header)
    extensible: bool
    doc: str
    codes: tuple[ErrorCode, ...]
    unrecognized_message: str
    header: str | None = None  # the codes exist in this header of the library: not re-emitted
    unknown: str | None = None  # key an unrecognised value reads as (None: no such row)
    violation: str | None = None  # key a broken checked rule reports by default
    location: Location | None = None

    @property
    def emitted(self) -> bool:
        """True when the generated header defines the codes (the enum or macros)."""
        return self.header is None

    @property
    def has_http(self) -> bool:
        """The optional HTTP extension: every code states `http_status` and `retriable`."""
        return bool(self.codes) and all(c.http_status is not None for c in self.codes)

    @property
    def results(self) -> tuple[ErrorCode, ...]:
        return tuple(c for c in self.codes if c.is_result)

    @property
    def failures(self) -> tuple[ErrorCode, ...]:
        return tuple(c for c in self.codes if not c.is_result)

    def by_key(self, key: str) -> ErrorCode:
        return self._by_key[key]

    @cached_property
    def _by_key(self) -> dict[str, ErrorCode]:
        return {c.key: c for c in reversed(self.codes)}  # the first of a repeated key wins

    @property
    def success(self) -> ErrorCode:
        return next(c for c in self.codes if c.is_success)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.codes)


@dataclass(frozen=True)
class ErrorChannel:
    """How a function reports failure, resolved from the interface default and the
    function's own `error_channel:`.

    * `out_param`: an `int*` parameter receives the code (0 = success).
    * `status`: the return value is the code; `success` lists the keys that are not errors
      (`OK`, or `ROW` and `DONE` for a step function).
    * `sentinel`: a special return value (`NULL`, `-1`, `0`) marks failure; `code_from`
      (if any) yields the code, `detail_from` the text.
    * `none`: the function cannot fail.

    `detail_from` names the function that yields the detail text; `scope` says whether it is
    per thread (no argument) or per handle (`detail_handle`: the handle it takes)."""

    kind: str
    param: str | None = None
    success: tuple[str, ...] = ()
    success_values: tuple[int, ...] = ()  # `success` resolved to codes
    sentinel: str | None = None
    code_from: str | None = None
    detail_from: str | None = None
    scope: str = "thread"
    detail_handle: str | None = None

    @property
    def is_out_param(self) -> bool:
        return self.kind == "out_param"

    @property
    def is_status(self) -> bool:
        return self.kind == "status"

    @property
    def is_sentinel(self) -> bool:
        return self.kind == "sentinel"


NO_CHANNEL = ErrorChannel("none")
