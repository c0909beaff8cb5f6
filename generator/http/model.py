"""The HTTP section of a spec as one frozen model: operations, request and response fields,
SSE events and the service-level error table.

A field that `feeds` a C parameter takes that parameter's type and rules from the C model
(integer limits of its type, `range`, `allowed`, string rules); the section never restates
them. Every derived rule is resolved once, by generator.http.resolve, into a :class:`FieldRule`;
the OpenAPI renderer, the lock and the diff read only these. Problems (an unknown parameter, a
restated rule, an unknown error key) are collected with their spec location and reported by
the lints with the rest of the spec's problems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from generator.problems import Problem


@dataclass(frozen=True)
class FieldRule:
    """Every rule of one JSON field, resolved. `None` means "no such rule"."""

    name: str
    type: str                          # string | integer | number | boolean | array
    required: bool = False
    default: Any = None
    has_default: bool = False
    minimum: float | int | None = None
    maximum: float | int | None = None
    finite: bool = False
    enum: tuple[Any, ...] = ()
    only: float | int | None = None    # the one accepted value of a control the C side lacks
    min_length: int | None = None
    max_length: int | None = None
    min_bytes: int | None = None       # from a C string rule; checked on the UTF-8 encoding
    utf8: bool = False                 # from a C string rule: no lone surrogates
    nul: bool = True                   # False: U+0000 rejected
    control_chars: bool = True         # False: C0 and C1 controls rejected
    format: str | None = None
    max_items: int | None = None
    items: FieldRule | None = None
    feeds: str | None = None           # "function.param" this field's value is passed to
    doc: str = ""


@dataclass(frozen=True)
class ServiceError:
    key: str
    status: int
    message: str
    retriable: bool
    doc: str
    from_contract: bool                # True: status, message, retriable come from `errors:`


@dataclass(frozen=True)
class Event:
    name: str
    doc: str
    data: tuple[FieldRule, ...] | None  # None: the error payload


@dataclass(frozen=True)
class Stream:
    doc: str
    terminal: tuple[str, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Link:
    source: str                        # operation whose request supplies the value
    field: str
    doc: str


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    doc: str
    requirements: tuple[str, ...]
    calls: str | None
    request: tuple[FieldRule, ...] | None
    stream: Stream | None
    response_status: int | None
    response_doc: str
    response: tuple[FieldRule, ...] | None
    links: tuple[Link, ...]
    errors: tuple[str, ...]            # keys the operation declares
    call_errors: tuple[str, ...] = ()  # keys of the called C function (its error set)

    @property
    def all_errors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.errors, *self.call_errors]))


@dataclass(frozen=True)
class HttpService:
    title: str
    doc: str
    openapi_path: str
    max_body_bytes: int
    retry_after_seconds: int | None
    errors: tuple[ServiceError, ...]
    operations: tuple[Operation, ...]
    problems: tuple[Problem, ...] = field(default=(), compare=False, repr=False)

    def error(self, key: str) -> ServiceError:
        return next(e for e in self.errors if e.key == key)

    def operation(self, op_id: str) -> Operation:
        return next(o for o in self.operations if o.id == op_id)


def violation(rule: FieldRule, value: Any) -> str | None:
    """Why `value` breaks `rule`, or None; used for defaults, and mirrors the OpenAPI rules."""
    kinds = {"string": str, "boolean": bool, "array": list}
    if rule.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"not a {rule.type}"
        if rule.type == "integer" and not float(value).is_integer():
            return "not an integer"
        if isinstance(value, float) and not math.isfinite(value):
            return "not finite"
        if rule.minimum is not None and value < rule.minimum:
            return f"below {rule.minimum}"
        if rule.maximum is not None and value > rule.maximum:
            return f"above {rule.maximum}"
        if rule.only is not None and value != rule.only:
            return f"only {rule.only} is accepted"
        return None
    if not isinstance(value, kinds[rule.type]):
        return f"not a {rule.type}"
    if isinstance(value, str):
        if rule.min_length is not None and len(value) < rule.min_length:
            return "too short"
        if rule.max_length is not None and len(value) > rule.max_length:
            return "too long"
    if isinstance(value, list):
        if rule.max_items is not None and len(value) > rule.max_items:
            return "too many items"
        if rule.items is not None:
            return next((v for v in (violation(rule.items, x) for x in value) if v), None)
    return None
