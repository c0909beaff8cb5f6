"""The worker's HTTP contract, read from the generated OpenAPI document it serves.

Nothing here knows a field, a range or a status: request rules, defaults, the service error
table, the body limit and Retry-After all come from ``worker/openapi.json``, which
``ffispec generate`` writes from the spec's ``http:`` section (fields that feed a C parameter
carry that parameter's rules). Widen a range in the spec, regenerate, and the worker accepts
the new values with no code edit.

Validation is JSON Schema 2020-12 (``jsonschema-rs``, a compiled validator: a few microseconds
per body) over the document's request schemas, plus the document's one extension keyword,
``x-ffispec-utf8`` (every request string is Unicode text: a lone-surrogate escape is refused,
and a C string parameter could not take it anyway). Each failing field yields one
:class:`FieldError` whose ``constraint`` is the JSON Schema keyword it broke.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

# Which failure is reported when a field breaks several rules: the most basic first.
_KEYWORD_ORDER = ("type", "minimum", "maximum", "minLength", "maxLength", "maxItems", "items",
                  "pattern", "x-ffispec-utf8", "enum")


@dataclass(frozen=True)
class FieldError:
    """One failing field: its name, the rule it broke and a sentence for humans."""

    field: str
    constraint: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "constraint": self.constraint, "message": self.message}


class RequestInvalid(Exception):
    """A request body broke one or more rules; ``errors`` holds one entry per failing field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ServiceError:
    key: str
    status: int
    message: str
    retriable: bool


class RequestSchema:
    """Validates one operation's JSON body and fills in the documented defaults."""

    def __init__(self, schema: Mapping[str, Any]):
        self.schema = dict(schema)
        self.properties: dict[str, Any] = dict(schema.get("properties", {}))
        self.defaults = {name: s["default"] for name, s in self.properties.items()
                         if "default" in s}
        # Unknown keywords (the document's x-ffispec-* annotations) are ignored, as JSON
        # Schema says; x-ffispec-utf8 is checked below.
        self._validator = jsonschema_rs.Draft202012Validator(self.schema)

    def validate(self, body: Any) -> dict[str, Any]:
        """The body with defaults filled in; raise :class:`RequestInvalid` naming every
        failing field."""
        if not isinstance(body, dict):
            raise RequestInvalid([FieldError("body", "type", "the body must be a JSON object")])
        try:
            valid = self._validator.is_valid(body)
        except UnicodeEncodeError:
            # A string holds a lone surrogate (JSON's \ud800 escape): not Unicode text, and no
            # JSON Schema engine can read it. Every string of the document is x-ffispec-utf8.
            raise RequestInvalid(_surrogates(body)) from None
        if not valid:
            raise RequestInvalid(self._errors(body))
        out = dict(self.defaults)
        out.update(body)
        return out

    def _errors(self, body: dict[str, Any]) -> list[FieldError]:
        found: dict[str, FieldError] = {}
        rank: dict[str, int] = {}
        for err in self._validator.iter_errors(body):
            for fe in self._describe(err, body):
                order = _rank(fe.constraint)
                if fe.field not in found or order < rank[fe.field]:
                    found[fe.field], rank[fe.field] = fe, order
        return [found[k] for k in sorted(found, key=self._field_order)]

    def _field_order(self, name: str) -> tuple[int, str]:
        names = list(self.properties)
        return (names.index(name) if name in names else len(names), name)

    def _describe(self, err: Any, body: dict[str, Any]) -> list[FieldError]:
        path = list(err.instance_path)
        keyword = str(list(err.schema_path)[-1])
        if not path:
            if keyword == "required":
                name = str(err.kind.property)
                return [FieldError(name, "required", f"{name} is required")]
            if keyword == "additionalProperties":
                return [FieldError(str(n), "additionalProperties", f"unknown field {n!r}")
                        for n in err.kind.unexpected]
            return [FieldError("body", keyword, f"the body breaks `{keyword}`")]
        name = str(path[0])
        where = name + "".join(f"[{p}]" for p in path[1:])
        schema = self.properties.get(name, {})
        if len(path) > 1 and isinstance(schema.get("items"), dict):
            schema = schema["items"]
        return [FieldError(name, keyword, _message(where, keyword, schema))]


def _surrogates(body: dict[str, Any]) -> list[FieldError]:
    def bad(value: Any) -> bool:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
            return False
        if isinstance(value, list):
            return any(bad(v) for v in value)
        if isinstance(value, dict):
            return any(bad(k) or bad(v) for k, v in value.items())
        return False

    fields = [k for k, v in body.items() if bad(k) or bad(v)]
    return [FieldError(k if not bad(k) else "body", "x-ffispec-utf8",
                       f"{k if not bad(k) else 'a field name'} must be valid UTF-8 "
                       "(no lone surrogates)") for k in fields]


def _rank(keyword: str) -> int:
    return _KEYWORD_ORDER.index(keyword) if keyword in _KEYWORD_ORDER else len(_KEYWORD_ORDER)


def _message(where: str, keyword: str, schema: Mapping[str, Any]) -> str:
    """A sentence that names the rule without echoing the (possibly huge) value."""
    v: Any = schema.get(keyword)
    if keyword == "type":
        return f"{where} must be of type {v}"
    if keyword in ("minimum", "maximum"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        bounds = " and ".join(x for x in (lo is not None and f"at least {lo}",
                                          hi is not None and f"at most {hi}") if x)
        return f"{where} must be {bounds}"
    if keyword == "minLength":
        return f"{where} must be at least {v} characters long"
    if keyword == "maxLength":
        return f"{where} must be at most {v} characters long"
    if keyword == "maxItems":
        return f"{where} takes at most {v} items"
    if keyword == "pattern":
        return f"{where} must not contain {'control characters' if '001f' in v else 'NUL'}"
    if keyword == "enum":
        reason = schema.get("description", "")
        return f"{where} must be one of {json.dumps(v)}" + (f": {reason}" if reason else "")
    return f"{where} breaks `{keyword}`"


class Contract:
    """The parts of the OpenAPI document the server enforces."""

    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        service = document["x-ffispec-service"]
        self.max_body_bytes: int = service["max_body_bytes"]
        self.retry_after_seconds: int | None = service.get("retry_after_seconds")
        self.errors = {key: ServiceError(key, e["status"], e["message"], e["retriable"])
                       for key, e in service["errors"].items()}
        self._operations = {op["operationId"]: op for item in document["paths"].values()
                            for op in item.values()}

    @classmethod
    def load(cls, path: str | Path | None = None) -> Contract:
        """The document at ``path``, or the one shipped with this package."""
        if path is None:
            text = resources.files("worker").joinpath("openapi.json").read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        return cls(json.loads(text))

    @cached_property
    def json_text(self) -> bytes:
        return json.dumps(self.document, ensure_ascii=False).encode("utf-8")

    def request(self, operation_id: str) -> RequestSchema:
        return self._requests[operation_id]

    @cached_property
    def _requests(self) -> dict[str, RequestSchema]:
        schemas = self.document["components"]["schemas"]
        out = {}
        for op_id, op in self._operations.items():
            body = op.get("requestBody")
            if body is not None:
                ref = body["content"]["application/json"]["schema"]["$ref"]
                out[op_id] = RequestSchema(schemas[ref.rsplit("/", 1)[1]])
        return out

    def stream_events(self, operation_id: str) -> tuple[frozenset[str], frozenset[str]]:
        """(every event name, the terminal ones) of an operation's SSE answer."""
        media = self._operations[operation_id]["responses"]["200"]["content"]
        stream = media["text/event-stream"]["x-ffispec-stream"]
        return frozenset(stream["events"]), frozenset(stream["terminal"])
