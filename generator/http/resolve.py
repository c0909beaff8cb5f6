"""Build the HTTP model from the `http:` section: a field that `feeds` a C parameter takes that
parameter's type and rules from the C model (never restated), defaults are checked against
their own field's rules, and every problem is collected with its spec location."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generator.http.model import Event, FieldRule, HttpService, Link, Operation, ServiceError, Stream, violation
from generator.model import Param, Spec
from generator.problems import Path, Problem

# Rules a field may not state when it feeds a C parameter: the parameter owns them.
_OWNED_BY_C = ("type", "range", "enum", "only", "nul", "format")


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
