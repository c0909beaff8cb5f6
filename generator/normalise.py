"""Turn schema-valid raw data into the frozen model. Cross-references are kept as names
here and checked by the lints; derived facts (which function creates or destroys which
handle, which parameter is the error channel) are computed once, here."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from generator.http.model import normalise_http
from generator.loader import RawSpec
from generator.model import (
    AllowedValue,
    ChangelogEntry,
    Consumer,
    CType,
    Deprecation,
    ErrorCode,
    ErrorTable,
    ExceptionEntry,
    Function,
    Group,
    Handle,
    Header,
    Interface,
    Param,
    Range,
    Returns,
    Spec,
    ThreadSafety,
)
from generator.problems import Path


def normalise(raw: RawSpec) -> Spec:
    d = raw.data
    handles = tuple(_handle(raw, h, ("handles", i)) for i, h in enumerate(d["handles"]))
    handle_names = {h.name for h in handles}
    creates = {h.created_by: h.name for h in handles}
    destroys = {h.destroyed_by: h.name for h in handles}
    err_param = d["interface"]["error_out_param"]
    functions = tuple(
        _function(raw, f, ("functions", i), handle_names, err_param, creates, destroys)
        for i, f in enumerate(d["functions"])
    )
    spec = Spec(
        source=raw.file,
        sha256=hashlib.sha256(raw.text.encode("utf-8")).hexdigest(),
        interface=_interface(d["interface"]),
        groups=tuple(Group(g["name"], g["title"], g.get("doc", "")) for g in d["groups"]),
        errors=_errors(raw, d["errors"]),
        handles=handles,
        functions=functions,
        model_format=_freeze(d.get("model_format")),
        exceptions=tuple(
            ExceptionEntry(e["id"], tuple(e["applies_to"]), e["rule"], e["reason"],
                           raw.where(("exceptions", i)))
            for i, e in enumerate(d.get("exceptions", []))
        ),
        changelog=tuple(
            ChangelogEntry(c["version"], c.get("date"), tuple(c["changes"]))
            for c in d.get("changelog", [])
        ),
    )
    object.__setattr__(spec, "http", normalise_http(spec, d.get("http"), raw.where))
    object.__setattr__(spec, "contract_hash", contract_hash(spec))
    object.__setattr__(spec, "locations", raw.locations)
    return spec


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _interface(d: dict[str, Any]) -> Interface:
    h = d["header"]
    return Interface(
        name=d["name"], title=d.get("title", d["name"]), version=d["version"],
        c_prefix=d["c_prefix"], doc=d["doc"],
        header=Header(h["path"], h["guard"], h["api_macro"], tuple(h.get("includes", []))),
        error_out_param=d["error_out_param"],
        consumers=tuple(Consumer(c["team"], c.get("contact", ""), c["uses"])
                        for c in d.get("consumers", [])),
        principles=tuple(d.get("principles", [])),
    )


def _errors(raw: RawSpec, d: dict[str, Any]) -> ErrorTable:
    codes = tuple(
        ErrorCode(
            name=c["name"], value=c["value"], key=c["key"], message=c["message"],
            http_status=c["http_status"], retriable=c["retriable"], doc=c.get("doc", ""),
            since=c.get("since"), python_bases=tuple(c.get("python_bases", [])),
            location=raw.where(("errors", "codes", i)),
        )
        for i, c in enumerate(d["codes"])
    )
    return ErrorTable(d["enum"], bool(d.get("extensible", False)), d.get("doc", ""), codes,
                      d["unrecognized_message"])


def _handle(raw: RawSpec, d: dict[str, Any], path: Path) -> Handle:
    return Handle(d["name"], d["doc"], d.get("parent"), d["created_by"], d["destroyed_by"],
                  d["thread_safety"], raw.where(path))


def _param(raw: RawSpec, d: dict[str, Any], path: Path, handles: set[str], err_param: str) -> Param:
    ctype = CType.parse(d["type"])
    handle = ctype.base if ctype.pointer and ctype.base in handles else None
    rng = d.get("range")
    string = d.get("string", {})
    return Param(
        name=d["name"], ctype=ctype, direction=d["direction"],
        nullable=bool(d.get("nullable", False)), ownership=d.get("ownership", "borrowed"),
        doc=d["doc"], location=raw.where(path),
        range=Range(rng.get("min"), rng.get("max"), bool(rng.get("finite", False))) if rng else None,
        allowed=tuple(AllowedValue(a["value"], a["name"], a["doc"]) for a in d.get("allowed", [])),
        on_violation=d.get("on_violation", "INVALID_PARAMETER"),
        len=d.get("len"), utf8=bool(string.get("utf8", False)), min_bytes=string.get("min_bytes"),
        written=d.get("written"), handle=handle,
        is_error_out=d["name"] == err_param and d["direction"] == "out",
        index=path[-1] if isinstance(path[-1], int) else 0,
    )


def _function(raw: RawSpec, d: dict[str, Any], path: Path, handles: set[str], err_param: str,
              creates: dict[str, str], destroys: dict[str, str]) -> Function:
    r = d["returns"]
    rtype = CType.parse(r["type"])
    ts = d["thread_safety"]
    dep = d.get("deprecated")
    return Function(
        name=d["name"], group=d["group"], since=d["since"], doc=d["doc"],
        details=d.get("details", ""),
        params=tuple(_param(raw, p, (*path, "params", i), handles, err_param)
                     for i, p in enumerate(d["params"])),
        returns=Returns(
            ctype=rtype, ownership=r.get("ownership"), nullable=bool(r.get("nullable", False)),
            on_error=r.get("on_error"), false_means=r.get("false_means"), doc=r.get("doc", ""),
            handle=rtype.base if rtype.pointer and rtype.base in handles else None,
            values=tuple(AllowedValue(v["value"], v["name"], v["doc"]) for v in r.get("values", [])),
        ),
        errors=tuple(d["errors"]),
        thread_safety=ThreadSafety(ts["class"], tuple(ts.get("sync_on", [])),
                                   tuple(ts.get("concurrent_with", []))),
        location=raw.where(path), role=d.get("role"), alias_of=d.get("alias_of"),
        deprecated=Deprecation(dep["since"], dep.get("replacement"), dep["reason"]) if dep else None,
        requirements=tuple(d.get("requirements", [])), notes=tuple(d.get("notes", [])),
        creates=creates.get(d["name"]), destroys=destroys.get(d["name"]),
        index=path[-1] if isinstance(path[-1], int) else 0,
    )


# ----------------------------------------------------------------- canonical form and hash

_DOC_FIELDS = frozenset({"doc", "details", "notes", "reason", "title", "message_doc"})


def canonical(spec: Spec) -> dict[str, Any]:
    from generator.http.openapi import canonical_http

    """The normalised contract as JSON-ready data, in canonical order (the lock baseline)."""
    return {
        "interface": {
            "name": spec.interface.name, "version": spec.interface.version,
            "c_prefix": spec.interface.c_prefix, "doc": spec.interface.doc,
            "header": spec.interface.header.path,
            "error_out_param": spec.interface.error_out_param,
        },
        "errors": {
            "enum": spec.errors.enum, "extensible": spec.errors.extensible,
            "unrecognized_message": spec.errors.unrecognized_message,
            "codes": [
                {"name": c.name, "value": c.value, "key": c.key, "message": c.message,
                 "http_status": c.http_status, "retriable": c.retriable, "doc": c.doc,
                 "since": c.since}
                for c in spec.errors.codes
            ],
        },
        "handles": [
            {"name": h.name, "doc": h.doc, "parent": h.parent, "created_by": h.created_by,
             "destroyed_by": h.destroyed_by, "thread_safety": h.thread_safety}
            for h in spec.handles
        ],
        "functions": [_canonical_function(f) for f in spec.functions],
        **({"http": canonical_http(spec)} if spec.http is not None else {}),
    }


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
             "min_bytes": p.min_bytes, "written": p.written}
            for p in f.params
        ],
        "returns": {"type": f.returns.ctype.c, "ownership": f.returns.ownership,
                    "nullable": f.returns.nullable, "on_error": f.returns.on_error,
                    "false_means": f.returns.false_means, "doc": f.returns.doc,
                    **({"values": [{"value": v.value, "name": v.name} for v in f.returns.values]}
                       if f.returns.values else {})},
        "errors": sorted(f.errors),
        "thread_safety": {"class": f.thread_safety.cls, "sync_on": list(f.thread_safety.sync_on),
                          "concurrent_with": sorted(f.thread_safety.concurrent_with)},
        "alias_of": f.alias_of,
        "deprecated": None if f.deprecated is None else
        {"since": f.deprecated.since, "replacement": f.deprecated.replacement},
        "requirements": list(f.requirements),
        "notes": list(f.notes),
    }


def strip_docs(value: Any) -> Any:
    """Drop documentation-only fields, recursively."""
    if isinstance(value, dict):
        return {k: strip_docs(v) for k, v in value.items() if k not in _DOC_FIELDS}
    if isinstance(value, list):
        return [strip_docs(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed_contract(canonical_data: dict[str, Any]) -> dict[str, Any]:
    """The part of a canonical contract its hash covers: no documentation, and no HTTP
    service (the library does not implement it, so its changes must not touch its hash)."""
    data = strip_docs(canonical_data)
    data.pop("http", None)
    return dict(data)


def contract_hash(spec: Spec) -> str:
    data = hashed_contract(canonical(spec))
    # The version is part of the contract; the pinned messages are too (callers print them).
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
