"""The HTTP section of a spec as one frozen model: operations, request and response fields,
SSE events and the service-level error table.

A field that `feeds` a C parameter takes that parameter's type and rules from the C model
(integer limits of its type, `range`, `allowed`, string rules); the section never restates
them. Every derived rule is resolved here, once, into a :class:`FieldRule`; the OpenAPI
renderer, the lock and the diff read only these. Problems (an unknown parameter, a restated
rule, an unknown error key) are collected with their spec location and reported by the
lints with the rest of the spec's problems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from generator.model import Param, Spec
from generator.problems import Path, Problem

# Rules a field may not state when it feeds a C parameter: the parameter owns them.
_OWNED_BY_C = ("type", "range", "enum", "only", "nul", "format")


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


class _Resolver:
    """Builds the model from the raw section, resolving references against the C model."""

    def __init__(self, spec: Spec, where: Any):
        self.spec = spec
        self.where = where
        self.problems: list[Problem] = []

    def problem(self, rule: str, message: str, path: Path, hint: str) -> None:
        self.problems.append(Problem(rule, message, self.where(path), path, hint))

    # ------------------------------------------------------------------- fields

    def fields(self, raw: dict[str, Any], path: Path,
               request: dict[str, dict[str, FieldRule]] | None = None,
               answer: bool = False) -> tuple[FieldRule, ...]:
        """Request fields are optional unless `required: true`; fields of an answer (response,
        event) are always present unless `required: false`."""
        return tuple(self.field(name, d, (*path, name), request, answer)
                     for name, d in (raw or {}).items())

    def field(self, name: str, d: dict[str, Any], path: Path,
              request: dict[str, dict[str, FieldRule]] | None = None,
              answer: bool = False) -> FieldRule:
        required = bool(d.get("required", answer))
        doc = d.get("doc", "")
        if "same_as" in d:
            op, _, other = d["same_as"].partition(".")
            base = (request or {}).get(op, {}).get(other)
            if base is None:
                self.problem("HTTP-unknown-field", f"same_as names {d['same_as']!r}, which is "
                             "not a request field of an earlier operation", (*path, "same_as"),
                             "name OPERATION.FIELD of an operation listed above this one")
                return FieldRule(name, "string", required=required, doc=doc)
            return replace(base, name=name, required=required, doc=doc or base.doc)
        if "feeds" in d:
            return self.fed(name, d, path, required, doc)
        kind = d.get("type")
        if kind is None:
            self.problem("HTTP-field-untyped", f"field {name!r} has neither `type` nor `feeds`",
                         path, "add `feeds: function.param` or a `type`")
            kind = "string"
        rng = d.get("range") or {}
        items = self.field(f"{name}[]", d["items"], (*path, "items")) if "items" in d else None
        rule = FieldRule(
            name=name, type=kind, required=required, minimum=rng.get("min"),
            maximum=rng.get("max"), finite=kind == "number", enum=tuple(d.get("enum", ())),
            only=d.get("only"), min_length=d.get("min_length"), max_length=d.get("max_length"),
            nul=bool(d.get("nul", True)), control_chars=bool(d.get("control_chars", True)),
            utf8=kind == "string",  # JSON text is Unicode: a lone-surrogate escape is refused
            format=d.get("format"), max_items=d.get("max_items"), items=items, doc=doc,
        )
        return self.with_default(rule, d, path)

    def fed(self, name: str, d: dict[str, Any], path: Path, required: bool, doc: str) -> FieldRule:
        fn_name, _, param_name = d["feeds"].partition(".")
        param = self.param(fn_name, param_name)
        if param is None:
            self.problem("HTTP-feeds-unknown", f"feeds names {d['feeds']!r}, which is not an "
                         "input parameter of a function in this spec", (*path, "feeds"),
                         "name FUNCTION.PARAM of an `in` parameter")
            return FieldRule(name, "string", required=required, doc=doc)
        for key in _OWNED_BY_C:
            if key in d:
                self.problem("HTTP-restated", f"field {name!r} restates `{key}`, which "
                             f"{d['feeds']} owns", (*path, key),
                             f"remove `{key}`: the C parameter's rules apply to this field")
        rule = _from_param(name, param, d["feeds"], required, doc)
        if "max_length" in d or "min_length" in d:
            if rule.type != "string":
                self.problem("HTTP-rule-mismatch", f"a length rule on {name!r}, which feeds a "
                             "non-string parameter", path, "remove the length rule")
            else:
                rule = replace(rule, max_length=d.get("max_length", rule.max_length),
                               min_length=max(d.get("min_length", 0), rule.min_length or 0)
                               or None)
        return self.with_default(rule, d, path)

    def param(self, fn_name: str, param_name: str) -> Param | None:
        """An input parameter a JSON value can be passed to (no handle, no buffer)."""
        try:
            fn = self.spec.function(fn_name)
        except KeyError:
            return None
        p = next((p for p in fn.params if p.name == param_name), None)
        if p is None or p.direction != "in" or p.handle is not None:
            return None
        return p if not p.is_pointer or p.ctype.is_string else None

    def with_default(self, rule: FieldRule, d: dict[str, Any], path: Path) -> FieldRule:
        if "default" not in d:
            return rule
        value = d["default"]
        if value in ("max", "min") and rule.type in ("integer", "number"):
            bound = rule.maximum if value == "max" else rule.minimum
            if bound is None:
                self.problem("HTTP-default-invalid", f"default {value!r} of {rule.name!r}: the "
                             f"field has no {value}imum", (*path, "default"), "give a value")
                return rule
            value = bound
        problem = violation(rule, value)
        if problem:
            self.problem("HTTP-default-invalid", f"default {value!r} of {rule.name!r} breaks "
                         f"its own rule: {problem}", (*path, "default"),
                         "pick a default the field accepts")
        return replace(rule, default=value, has_default=True)


def _from_param(name: str, p: Param, feeds: str, required: bool, doc: str) -> FieldRule:
    """The JSON rules a C parameter imposes on a value passed to it."""
    if p.ctype.is_string:
        return FieldRule(name, "string", required=required, min_length=1 if p.min_bytes else None,
                         min_bytes=p.min_bytes, utf8=p.utf8, nul=False, feeds=feeds, doc=doc)
    if p.ctype.is_bool:
        return FieldRule(name, "boolean", required=required, feeds=feeds, doc=doc)
    if p.allowed:
        return FieldRule(name, "integer", required=required, enum=tuple(a.value for a in p.allowed),
                         feeds=feeds, doc=doc)
    rng = p.range
    if p.ctype.is_float:
        return FieldRule(name, "number", required=required,
                         minimum=None if rng is None else rng.min,
                         maximum=None if rng is None else rng.max,
                         finite=True, feeds=feeds, doc=doc)
    limits = p.ctype.int_limits
    lo: float | int | None = limits[0] if limits else None
    hi: float | int | None = limits[1] if limits else None
    if rng is not None:
        lo = lo if rng.min is None else rng.min
        hi = hi if rng.max is None else rng.max
    return FieldRule(name, "integer", required=required, minimum=lo, maximum=hi, feeds=feeds,
                     doc=doc)


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


def normalise_http(spec: Spec, raw: dict[str, Any] | None, where: Any) -> HttpService | None:
    """The section's model, or None when the spec has no `http` section."""
    if raw is None:
        return None
    r = _Resolver(spec, where)
    contract_keys = set(spec.errors.keys)
    errors = []
    for i, e in enumerate(raw["errors"]):
        path: Path = ("http", "errors", i)
        if e["key"] in contract_keys:
            c = spec.errors.by_key(e["key"])
            for key in ("status", "message", "retriable"):
                if key in e:
                    r.problem("HTTP-restated", f"service error {e['key']} restates `{key}`, "
                              "which the contract's error table owns", (*path, key),
                              f"remove `{key}`")
            if c.http_status is None:
                r.problem("HTTP-error-no-status", f"service error {e['key']} comes from the "
                          "contract's error table, which has no http_status for it", path,
                          "add http_status and retriable to every code of `errors:`, or give "
                          "this service error a key of its own with status and message")
            errors.append(ServiceError(c.key, c.http_status or 500, c.message,
                                       bool(c.retriable), e.get("doc", c.doc), True))
            continue
        missing = [k for k in ("status", "message", "retriable") if k not in e]
        if missing:
            r.problem("HTTP-error-incomplete", f"service error {e['key']} lacks "
                      f"{', '.join(missing)}", path,
                      "a key that is not in the contract's error table states status, message "
                      "and retriable")
        errors.append(ServiceError(e["key"], e.get("status", 500), e.get("message", e["key"]),
                                   bool(e.get("retriable", False)), e.get("doc", ""), False))
    if any(e.retriable for e in errors) and raw.get("retry_after_seconds") is None:
        r.problem("HTTP-retry-after-missing", "a retriable service error but no "
                  "retry_after_seconds", ("http",), "add `retry_after_seconds: N`")
    known = {e.key for e in errors} | contract_keys
    requests: dict[str, dict[str, FieldRule]] = {}
    operations = []
    for op_id, o in raw["operations"].items():
        path = ("http", "operations", op_id)
        request = r.fields(o["request"], (*path, "request"), requests) if "request" in o else None
        requests[op_id] = {f.name: f for f in request or ()}
        stream = None
        if "stream" in o:
            s = o["stream"]
            events = tuple(
                Event(name, e.get("doc", ""), None if e["data"] == "error" else
                      r.fields(e["data"], (*path, "stream", "events", name, "data"), answer=True))
                for name, e in s["events"].items())
            for name in s["terminal"]:
                if name not in s["events"]:
                    r.problem("HTTP-unknown-event", f"terminal event {name!r} is not an event "
                              "of this stream", (*path, "stream", "terminal"),
                              f"use one of {', '.join(s['events'])}")
            stream = Stream(s.get("doc", ""), tuple(s["terminal"]), events)
        if ("stream" in o) == ("response" in o):
            r.problem("HTTP-response-shape", f"operation {op_id!r} needs exactly one of "
                      "`stream` and `response`", path, "describe what a success answers")
        for i, key in enumerate(o["errors"]):
            if key not in known:
                r.problem("HTTP-unknown-error", f"{key!r} is in neither the service error "
                          "table nor the contract's", (*path, "errors", i),
                          "add it to http.errors or fix the key")
        calls = o.get("calls")
        call_errors: tuple[str, ...] = ()
        if calls is not None:
            try:
                call_errors = spec.function(calls).errors
            except KeyError:
                r.problem("HTTP-calls-unknown", f"calls names {calls!r}, which is not a "
                          "function of this spec", (*path, "calls"), "fix the function name")
        links = tuple(Link(lk["from"], lk["field"], lk.get("doc", "")) for lk in o.get("links", ()))
        for i, lk in enumerate(links):
            if lk.field not in requests.get(lk.source, {}):
                r.problem("HTTP-link-unknown", f"link from {lk.source}.{lk.field}: no such "
                          "request field", (*path, "links", i), "name a request field of "
                          "an operation listed above this one")
        resp = o.get("response") or {}
        operations.append(Operation(
            id=op_id, method=o["method"], path=o["path"], summary=o["summary"],
            doc=o.get("doc", ""), requirements=tuple(o.get("requirements", ())), calls=calls,
            request=request, stream=stream, response_status=resp.get("status"),
            response_doc=resp.get("doc", ""),
            response=r.fields(resp["data"], (*path, "response", "data"), answer=True)
            if resp else None,
            links=links,
            errors=tuple(o["errors"]), call_errors=tuple(k for k in call_errors if k in known),
        ))
    return HttpService(
        title=raw["title"], doc=raw.get("doc", ""), openapi_path=raw["openapi"],
        max_body_bytes=raw["max_body_bytes"], retry_after_seconds=raw.get("retry_after_seconds"),
        errors=tuple(errors), operations=tuple(operations), problems=tuple(r.problems),
    )
