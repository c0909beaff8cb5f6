"""The OpenAPI 3.1 document of a spec's HTTP section, and the section's canonical form for the
lock. Both are built from the resolved model as plain data and written as JSON by `json.dumps`
(JSON's own escaping, ASCII only like `generator.escape.json_string`: every text of the spec
lands in a JSON string).

OpenAPI 3.1 has no object for the events of a `text/event-stream` body, so the stream is
described twice: as a `oneOf` of `{event, data}` envelopes in `components.schemas` (one per
event, readable by any JSON Schema tool) and as `x-ffispec-stream` on the media type (event
name -> data schema, plus the terminal rule). `x-ffispec-service` carries what a server
needs at run time and OpenAPI has no field for: the service error table, the body limit and
Retry-After.
"""

from __future__ import annotations

import json
from typing import Any

from generator import __version__
from generator.http.model import FieldRule, HttpService, Operation
from generator.model import Spec

# C0 and C1 control characters, and U+0000 alone, as JSON Schema (ECMA-262 and Python) patterns.
NO_CONTROL_CHARS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
NO_NUL = "^[^\\u0000]*$"
JSON = "application/json"
SSE = "text/event-stream"


def field_schema(rule: FieldRule, with_docs: bool = True) -> dict[str, Any]:
    """The JSON Schema of one field; `with_docs=False` leaves out descriptions (the lock's
    canonical form keeps docs separately)."""
    s: dict[str, Any] = {"type": rule.type}
    if rule.minimum is not None:
        s["minimum"] = rule.minimum
    if rule.maximum is not None:
        s["maximum"] = rule.maximum
    if rule.only is not None:
        s["enum"] = [rule.only]
    elif rule.enum:
        s["enum"] = list(rule.enum)
    if rule.min_length is not None:
        s["minLength"] = rule.min_length
    if rule.max_length is not None:
        s["maxLength"] = rule.max_length
    if not rule.control_chars:
        s["pattern"] = NO_CONTROL_CHARS
    elif not rule.nul:
        s["pattern"] = NO_NUL
    if rule.format:
        s["format"] = rule.format
    if rule.max_items is not None:
        s["maxItems"] = rule.max_items
    if rule.items is not None:
        s["items"] = field_schema(rule.items, with_docs)
    if rule.has_default:
        s["default"] = rule.default
    if rule.utf8:
        s["x-ffispec-utf8"] = True  # no lone surrogates: the value must encode as UTF-8
    if rule.min_bytes is not None and rule.min_bytes > 1:
        s["x-ffispec-min-bytes"] = rule.min_bytes
    if rule.feeds:
        s["x-ffispec-feeds"] = rule.feeds
    if with_docs and (rule.doc or rule.feeds):
        text = rule.doc
        if rule.feeds:
            text = f"{text} Passed to `{rule.feeds}`, whose rules apply.".strip()
        s["description"] = text
    return s


def object_schema(fields: tuple[FieldRule, ...], with_docs: bool = True) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: field_schema(f, with_docs) for f in fields},
        "required": [f.name for f in fields if f.required],
    }


def _schema_name(op: Operation, part: str) -> str:
    return "".join(w.capitalize() for w in op.id.split("_")) + part


def error_schema(spec: Spec, service: HttpService) -> dict[str, Any]:
    keys = list(dict.fromkeys([*(e.key for e in service.errors),
                               *(c.key for c in spec.errors.codes if not c.is_success)]))
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["code", "message", "retriable"],
        "properties": {
            "code": {"type": "string", "enum": keys,
                     "description": "A key of the service error table or the contract's."},
            "message": {"type": "string", "description": "The table's message for the key."},
            "retriable": {"type": "boolean"},
            "detail": {"type": "string", "description": "What went wrong in this case."},
            "errors": {
                "type": "array",
                "description": "With INVALID_PARAMETER: one entry per failing field.",
                "items": {"type": "object", "additionalProperties": False,
                          "required": ["field", "constraint", "message"],
                          "properties": {"field": {"type": "string"},
                                         "constraint": {"type": "string"},
                                         "message": {"type": "string"}}},
            },
        },
    }


def _statuses(spec: Spec, service: HttpService, keys: tuple[str, ...]) -> dict[int, list[Any]]:
    """Status -> the table rows answered with it (service rows first)."""
    rows: dict[int, list[Any]] = {}
    by_key = {e.key: e for e in service.errors}
    for key in keys:
        row: Any = by_key.get(key) or spec.errors.by_key(key)
        status = row.status if key in by_key else (row.http_status or 500)
        rows.setdefault(status, []).append(row)
    return dict(sorted(rows.items()))


def _error_responses(spec: Spec, service: HttpService, op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, rows in _statuses(spec, service, op.all_errors).items():
        resp: dict[str, Any] = {
            "description": "; ".join(f"{r.key}: {r.message}" for r in rows),
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if any(r.retriable for r in rows) and service.retry_after_seconds is not None:
            resp["headers"] = {"Retry-After": {
                "description": "Seconds to wait before retrying (retriable errors).",
                "schema": {"type": "integer", "minimum": 0}}}
        out[str(status)] = resp
    return out


def _operation(spec: Spec, service: HttpService, op: Operation,
               schemas: dict[str, Any]) -> dict[str, Any]:
    o: dict[str, Any] = {"operationId": op.id, "summary": op.summary}
    text = " ".join(x for x in (op.doc, ("Requirements: " + ", ".join(op.requirements) + ".")
                                if op.requirements else "") if x)
    if text:
        o["description"] = text
    if op.request is not None:
        name = _schema_name(op, "Request")
        schemas[name] = object_schema(op.request)
        o["requestBody"] = {"required": True, "content": {JSON: {
            "schema": {"$ref": f"#/components/schemas/{name}"}}}}
    responses: dict[str, Any] = {}
    if op.stream is not None:
        events = {}
        envelopes = []
        for ev in op.stream.events:
            name = _schema_name(op, "Event" + ev.name.capitalize())
            data = ({"$ref": "#/components/schemas/Error"} if ev.data is None else
                    {"$ref": f"#/components/schemas/{name}"})
            if ev.data is not None:
                schemas[name] = {**object_schema(ev.data), "description": ev.doc}
            events[ev.name] = data
            # One event as OpenAPI describes Server-Sent Events: `data` is text holding JSON.
            envelopes.append({
                "type": "object", "required": ["event", "data"], "description": ev.doc,
                "properties": {"event": {"const": ev.name},
                               "data": {"type": "string", "contentMediaType": JSON,
                                        "contentSchema": data}}})
        stream_name = _schema_name(op, "Event")
        schemas[stream_name] = {
            "description": f"One Server-Sent Event of the stream: `event:` names it, `data:` "
                           f"holds one line of JSON. Exactly one of "
                           f"{', '.join(op.stream.terminal)} ends the stream, and it is last.",
            "oneOf": envelopes,
        }
        responses["200"] = {
            "description": op.stream.doc or "A stream of Server-Sent Events.",
            "content": {SSE: {
                # Before OpenAPI 3.2's itemSchema, an event stream's `schema` is one event.
                "schema": {"$ref": f"#/components/schemas/{stream_name}"},
                "x-ffispec-stream": {"events": events, "terminal": list(op.stream.terminal)},
            }},
        }
    if op.response is not None:
        name = _schema_name(op, "Response")
        schemas[name] = object_schema(op.response)
        responses[str(op.response_status)] = {
            "description": op.response_doc or op.summary,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    success = next(iter(responses), None)
    links = _links(service, op)
    if links and success is not None:
        for target, link in links.items():
            service.operation(target)  # validated by the lints
            responses[success].setdefault("links", {}).update(link)
    responses.update(_error_responses(spec, service, op))
    o["responses"] = responses
    return o


def _links(service: HttpService, op: Operation) -> dict[str, dict[str, Any]]:
    """Links live on the source operation's response in OpenAPI, but the spec states them on
    the target (where the value is used)."""
    out: dict[str, dict[str, Any]] = {}
    for target in service.operations:
        for link in target.links:
            if link.source == op.id:
                name = "".join(w.capitalize() for w in target.id.split("_")) + "SameJob"
                out[target.id] = {name: {
                    "operationId": target.id,
                    "requestBody": {link.field: f"$request.body#/{link.field}"},
                    "description": link.doc,
                }}
    return out


def openapi_document(spec: Spec) -> dict[str, Any]:
    service = spec.http
    assert service is not None
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for op in service.operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(spec, service, op, schemas)
    schemas["Error"] = error_schema(spec, service)
    return {
        "openapi": "3.1.0",
        "info": {"title": service.title, "version": spec.interface.version,
                 "description": service.doc},
        "x-ffispec-generated": {
            "generator": f"ffispec {__version__}", "spec": spec.source, "spec_sha256": spec.sha256,
            "note": "Do not edit: change the spec and regenerate with `ffispec generate`."},
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
        "x-ffispec-service": {
            "max_body_bytes": service.max_body_bytes,
            "retry_after_seconds": service.retry_after_seconds,
            "errors": {e.key: {"status": e.status, "message": e.message,
                               "retriable": e.retriable} for e in service.errors},
        },
    }


def render_openapi(spec: Spec) -> str:
    # ASCII only, as generator.escape.json_string writes JSON: every other character of the
    # spec's text (bidirectional controls included) lands as a \uXXXX escape.
    return json.dumps(openapi_document(spec), indent=2, ensure_ascii=True) + "\n"


# ------------------------------------------------------------------- the lock's view

def canonical_http(spec: Spec) -> dict[str, Any] | None:
    """The section as the lock baseline stores it: every rule resolved (a widened C range
    shows here too), keyed by names so the diff can pair things up."""
    service = spec.http
    if service is None:
        return None

    def fields(fs: tuple[FieldRule, ...] | None) -> dict[str, Any] | None:
        if fs is None:
            return None
        return {f.name: {**field_schema(f, with_docs=False), "required": f.required,
                         "doc": f.doc} for f in fs}

    return {
        "title": service.title, "doc": service.doc, "openapi": service.openapi_path,
        "max_body_bytes": service.max_body_bytes,
        "retry_after_seconds": service.retry_after_seconds,
        "errors": {e.key: {"status": e.status, "message": e.message, "retriable": e.retriable,
                           "doc": e.doc} for e in service.errors},
        "operations": {
            op.id: {
                "method": op.method, "path": op.path, "summary": op.summary, "doc": op.doc,
                "requirements": list(op.requirements), "calls": op.calls,
                "request": fields(op.request),
                "response_status": op.response_status, "response": fields(op.response),
                "stream": None if op.stream is None else {
                    "doc": op.stream.doc, "terminal": list(op.stream.terminal),
                    "events": {e.name: "error" if e.data is None else fields(e.data)
                               for e in op.stream.events},
                    **({"event_docs": {e.name: e.doc for e in op.stream.events}}
                       if any(e.doc for e in op.stream.events) else {})},
                "links": [{"from": lk.source, "field": lk.field} for lk in op.links],
                **({"link_docs": [lk.doc for lk in op.links]}
                   if any(lk.doc for lk in op.links) else {}),
                **({"response_doc": op.response_doc} if op.response_doc else {}),
                # Declared keys only: the called function's are its own (FN-errors-*).
                "errors": {k: _status_of(spec, service, k) for k in op.errors},
            }
            for op in service.operations
        },
    }


def _status_of(spec: Spec, service: HttpService, key: str) -> int | None:
    for e in service.errors:
        if e.key == key:
            return e.status
    try:
        return spec.errors.by_key(key).http_status
    except KeyError:  # reported by the lints (HTTP-unknown-error)
        return None
