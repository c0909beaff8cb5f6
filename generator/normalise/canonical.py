"""The canonical form of a contract (the lock baseline) and its hash: every field that binds
callers or implementations, in one order; documentation and the HTTP service are left out of
the hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from generator.http.openapi import canonical_http
from generator.model import ErrorChannel, Function, Spec, TypeDecl
from generator.roles import TESTING_ROLES

_DOC_FIELDS = frozenset({"doc", "details", "notes", "reason", "title", "message_doc",
                         "null_means", "link_docs", "response_doc",
                         "event_docs"})


def canonical(spec: Spec) -> dict[str, Any]:
    """The normalised contract as JSON-ready data, in canonical order (the lock baseline)."""
    # Fields that earlier locks predate appear only when a spec uses them, so an existing
    # contract hash is unchanged by the spec language growing.
    out: dict[str, Any] = {
        "interface": {
            "name": spec.interface.name, "version": spec.interface.version,
            "c_prefix": spec.interface.c_prefix, "doc": spec.interface.doc,
            "header": spec.interface.header.path,
            "error_out_param": spec.interface.error_out_param,
            **_unless_default(error_channel=_channel(spec.interface.default_channel)
                              if spec.interface.default_channel.kind != "out_param" else None,
                              rules=None if spec.interface.checked else "precondition"),
        },
        "errors": {
            "enum": spec.errors.enum, "extensible": spec.errors.extensible,
            "unrecognized_message": spec.errors.unrecognized_message,
            **_unless_default(header=spec.errors.header,
                              unknown=spec.errors.unknown if spec.errors.unknown != "UNKNOWN" else None),
            "codes": [
                {"name": c.name, "value": c.value, "key": c.key, "message": c.message,
                 "http_status": c.http_status, "retriable": c.retriable, "doc": c.doc,
                 "since": c.since, **_unless_default(success=c.result or None)}
                for c in spec.errors.codes
            ],
        },
        "handles": [
            {"name": h.name, "doc": h.doc, "parent": h.parent, "created_by": h.created_by,
             "destroyed_by": h.destroyed_by, "thread_safety": h.thread_safety,
             **_unless_default(struct_tag=h.struct_tag or None, header=h.header)}
            for h in spec.handles
        ],
        "functions": [_canonical_function(f) for f in spec.functions],
        **({"http": canonical_http(spec)} if spec.http is not None else {}),
    }
    if spec.types:
        out["types"] = [_canonical_type(t) for t in spec.types]
    return out


def _unless_default(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _channel(c: ErrorChannel) -> dict[str, Any]:
    return {"kind": c.kind, "param": c.param, "success": list(c.success),
            "sentinel": c.sentinel, "code": c.code_from, "detail": c.detail_from,
            "scope": c.scope}


def _canonical_type(t: TypeDecl) -> dict[str, Any]:
    return {"name": t.name, "kind": t.kind, "doc": t.doc, "header": t.header,
            "struct_tag": t.struct_tag or None,
            "values": [{"value": v.value, "name": v.name} for v in t.values],
            "fields": [{"name": f.name, "type": f.ctype.c} for f in t.fields],
            "returns": t.returns.c if t.returns is not None else None,
            "params": [p.c for p in t.params],
            "constants": [{"value": v.value, "name": v.name} for v in t.constants],
            **_unless_default(type=t.aliased.c if t.aliased is not None else None)}


def _canonical_function(f: Function) -> dict[str, Any]:
    return {
        "name": f.name, "group": f.group, "since": f.since, "role": f.role, "doc": f.doc,
        "details": f.details,
        "params": [
            {"name": p.name, "type": p.ctype.c, "direction": p.direction, "nullable": p.nullable,
             "ownership": p.ownership, "doc": p.doc,
             "range": None if p.range is None else
             {"min": p.range.min, "max": p.range.max, "finite": p.range.finite},
             "allowed": [{"value": a.value, "name": a.name} for a in p.allowed],
             "on_violation": p.on_violation, "len": p.len, "utf8": p.utf8,
             "min_bytes": p.min_bytes, "written": p.written,
             **_unless_default(rule=None if p.checked else "precondition",
                               on_failure=p.on_failure, null_means=p.null_means)}
            for p in f.params
        ],
        "returns": {"type": f.returns.ctype.c, "ownership": f.returns.ownership,
                    "nullable": f.returns.nullable, "on_error": f.returns.on_error,
                    "false_means": f.returns.false_means, "doc": f.returns.doc,
                    **({"values": [{"value": v.value, "name": v.name} for v in f.returns.values]}
                       if f.returns.values else {}),
                    **_unless_default(null_means=f.returns.null_means)},
        "errors": sorted(f.errors),
        "thread_safety": {"class": f.thread_safety.cls, "sync_on": list(f.thread_safety.sync_on),
                          "concurrent_with": sorted(f.thread_safety.concurrent_with)},
        "alias_of": f.alias_of,
        "deprecated": None if f.deprecated is None else
        {"since": f.deprecated.since, "replacement": f.deprecated.replacement},
        "requirements": list(f.requirements),
        "notes": list(f.notes),
        **_unless_default(error_channel=_channel(f.channel)
                          if f.channel.kind in ("status", "sentinel") and f.channel.code_from
                          or f.channel.kind == "status" else None),
    }


def strip_docs(value: Any) -> Any:
    """Drop documentation-only fields, recursively. (Scalars, most of a contract, are taken
    as they are without a call each.)"""
    if isinstance(value, dict):
        return {k: strip_docs(v) if isinstance(v, (dict, list)) else v
                for k, v in value.items() if k not in _DOC_FIELDS}
    if isinstance(value, list):
        return [strip_docs(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed_contract(canonical_data: dict[str, Any]) -> dict[str, Any]:
    """The part of a canonical contract its hash covers: no documentation, no HTTP service
    (the library does not implement it, so its changes must not touch its hash) and no
    testing-hook role (metadata for tooling, generator/roles.py: hashed as no role, so
    declaring one leaves the hash of an existing contract as it was). A copy: the data given
    is left as it is (the HTTP section holds objects of the spec itself)."""
    data = strip_docs({k: v for k, v in canonical_data.items() if k != "http"})
    for fn in data.get("functions", ()):
        if fn.get("role") in TESTING_ROLES:
            fn["role"] = None
    return dict(data)


def contract_hash(spec: Spec) -> str:
    data = hashed_contract(canonical(spec))
    # The version is part of the contract; the pinned messages are too (callers print them).
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
