"""Change classification for the HTTP section: the rules (registered in the diff catalogue)
and the comparison of two canonical HTTP sections.

Direction follows who sends the value. A request field is sent by clients: narrowing what it
accepts, removing it (unknown fields are rejected) or making it required breaks them;
the reverse is compatible. Response and event fields are sent by the server: removing one or
changing its rules breaks clients that read it, adding one is compatible. A changed status,
retriable flag or terminal rule breaks clients that branch on it.
"""

from __future__ import annotations

from typing import Any

from generator.diff.differ import Differ

_DOC = ("doc", "summary", "description")
_NARROW_MIN = ("minimum", "minLength")
_NARROW_MAX = ("maximum", "maxLength", "maxItems")


def http(d: Differ) -> None:
    old, new = d.old.contract.get("http"), d.new.contract.get("http")
    if old is None and new is None:
        return
    if old is None or new is None:
        d.emit("HTTP-service-added" if old is None else "HTTP-service-removed", "http",
               ("http",), old is not None, new is not None)
        return
    path = ("http",)
    for key in ("title", "openapi"):
        d.field("HTTP-metadata-changed", "http", path, old, new, key)
    d.field("HTTP-doc-changed", "http", path, old, new, "doc")
    d.field("HTTP-retry-after-changed", "http", path, old, new, "retry_after_seconds")
    if old["max_body_bytes"] != new["max_body_bytes"]:
        d.emit("HTTP-limit-narrowed" if new["max_body_bytes"] < old["max_body_bytes"]
               else "HTTP-limit-widened", "http", (*path, "max_body_bytes"),
               old["max_body_bytes"], new["max_body_bytes"],
               f"{old['max_body_bytes']} -> {new['max_body_bytes']} bytes")
    _errors(d, old["errors"], new["errors"])
    for op_id in sorted(old["operations"].keys() | new["operations"].keys()):
        o, n = old["operations"].get(op_id), new["operations"].get(op_id)
        opath = (*path, "operations", op_id)
        if o is None or n is None:
            d.emit("HTTP-operation-added" if o is None else "HTTP-operation-removed", op_id,
                   opath, o and f"{o['method']} {o['path']}", n and f"{n['method']} {n['path']}")
            continue
        _operation(d, op_id, opath, o, n)
    d.unclassified("http", path, old, new, frozenset({
        "title", "openapi", "doc", "retry_after_seconds", "max_body_bytes", "errors",
        "operations"}))


def _errors(d: Differ, old: dict[str, Any], new: dict[str, Any]) -> None:
    for key in sorted(old.keys() | new.keys()):
        o, n = old.get(key), new.get(key)
        path = ("http", "errors", key)
        if o is None or n is None:
            d.emit("HTTP-error-added" if o is None else "HTTP-error-removed", key, path, o, n)
            continue
        d.field("HTTP-status-changed", key, path, o, n, "status")
        d.field("HTTP-retriable-changed", key, path, o, n, "retriable")
        d.field("HTTP-error-message-changed", key, path, o, n, "message")
        d.field("HTTP-doc-changed", key, path, o, n, "doc")


def _operation(d: Differ, op_id: str, path: tuple[str, ...], o: dict[str, Any],
               n: dict[str, Any]) -> None:
    if (o["method"], o["path"]) != (n["method"], n["path"]):
        d.emit("HTTP-operation-moved", op_id, (*path, "path"), f"{o['method']} {o['path']}",
               f"{n['method']} {n['path']}")
    for key in ("summary", "doc", "link_docs", "response_doc"):
        d.field("HTTP-doc-changed", op_id, path, o, n, key)
    for key in ("requirements", "calls"):
        d.field("HTTP-metadata-changed", op_id, path, o, n, key)
    d.field("HTTP-link-changed", op_id, path, o, n, "links")
    d.field("HTTP-response-status-changed", op_id, path, o, n, "response_status")
    _request(d, op_id, (*path, "request"), o["request"] or {}, n["request"] or {})
    _answer(d, op_id, (*path, "response", "data"), o["response"] or {}, n["response"] or {})
    os_, ns = o["stream"], n["stream"]
    if os_ is not None or ns is not None:
        os_ = os_ or {"doc": "", "terminal": [], "events": {}}
        ns = ns or {"doc": "", "terminal": [], "events": {}}
        spath = (*path, "stream")
        d.field("HTTP-doc-changed", op_id, spath, os_, ns, "doc")
        d.field("HTTP-doc-changed", op_id, spath, os_, ns, "event_docs", "event docs")
        if sorted(os_["terminal"]) != sorted(ns["terminal"]):
            d.emit("HTTP-terminal-changed", op_id, (*spath, "terminal"), os_["terminal"],
                   ns["terminal"])
        for ev in sorted(os_["events"].keys() | ns["events"].keys()):
            oe, ne = os_["events"].get(ev), ns["events"].get(ev)
            epath = (*spath, "events", ev)
            if oe is None or ne is None:
                d.emit("HTTP-event-added" if oe is None else "HTTP-event-removed",
                       f"{op_id}:{ev}", epath, oe is not None, ne is not None)
            elif isinstance(oe, str) or isinstance(ne, str):
                if oe != ne:
                    d.emit("HTTP-response-field-changed", f"{op_id}:{ev}", epath, oe, ne)
            else:
                _answer(d, f"{op_id}:{ev}", (*epath, "data"), oe, ne)
    for key in sorted(o["errors"].keys() | n["errors"].keys()):
        before, after = o["errors"].get(key), n["errors"].get(key)
        if before is None or after is None:
            d.emit("HTTP-operation-errors-added" if before is None else
                   "HTTP-operation-errors-removed", f"{op_id}:{key}", (*path, "errors"),
                   before, after, key)
    d.unclassified(op_id, path, o, n, frozenset({
        "method", "path", "summary", "doc", "requirements", "calls", "links", "link_docs",
        "response_doc", "response_status",
        "request", "response", "stream", "errors"}))


def _request(d: Differ, op_id: str, path: tuple[str, ...], old: dict[str, Any],
             new: dict[str, Any]) -> None:
    for name in sorted(old.keys() | new.keys()):
        o, n = old.get(name), new.get(name)
        symbol = f"{op_id}.{name}"
        fpath = (*path, name)
        if o is None:
            assert n is not None
            d.emit("HTTP-request-field-added-required" if n["required"] else
                   "HTTP-request-field-added", symbol, fpath, None, _public(n))
            continue
        if n is None:
            d.emit("HTTP-request-field-removed", symbol, fpath, _public(o), None)
            continue
        if o["required"] != n["required"]:
            d.emit("HTTP-request-field-required" if n["required"] else
                   "HTTP-request-field-optional", symbol, (*fpath, "required"),
                   o["required"], n["required"])
        d.field("HTTP-doc-changed", symbol, fpath, o, n, "doc")
        d.field("HTTP-request-default-changed", symbol, fpath, o, n, "default")
        _accepts(d, symbol, fpath, _rules(o), _rules(n))


def _public(field: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in field.items() if k != "doc"}


def _rules(field: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in field.items() if k not in ("doc", "required", "default", *_DOC)}


def _accepts(d: Differ, symbol: str, path: tuple[str, ...], o: dict[str, Any],
             n: dict[str, Any]) -> None:
    """Compare what a request field accepts, rule by rule, in the caller's direction."""
    if o.get("type") != n.get("type"):
        d.field("HTTP-request-type-changed", symbol, path, o, n, "type")
        return
    narrowed: list[str] = []
    widened: list[str] = []
    for key in sorted(o.keys() | n.keys()):
        a, b = o.get(key), n.get(key)
        if a == b or key == "type":
            continue
        if key == "items" and isinstance(a, dict) and isinstance(b, dict):
            _accepts(d, f"{symbol}[]", (*path, "items"), _rules(a), _rules(b))
            continue
        if key in _NARROW_MIN:
            tighter = a is None or (b is not None and b > a)
        elif key in _NARROW_MAX:
            tighter = b is not None and (a is None or b < a)
        elif key == "enum":
            tighter = b is not None and (a is None or not set(b) >= set(a))
            if not tighter and a is not None and b is not None and set(a) != set(b):
                widened.append(key)
                continue
        else:  # pattern, utf8, format, feeds: any other rule counts as stricter when added
            tighter = b is not None
        (narrowed if tighter else widened).append(key)
    for key in narrowed:
        d.emit("HTTP-request-narrowed", symbol, (*path, key), o.get(key), n.get(key),
               f"{key}: {o.get(key)} -> {n.get(key)}")
    for key in widened:
        d.emit("HTTP-request-widened", symbol, (*path, key), o.get(key), n.get(key),
               f"{key}: {o.get(key)} -> {n.get(key)}")


def _answer(d: Differ, symbol: str, path: tuple[str, ...], old: dict[str, Any],
            new: dict[str, Any]) -> None:
    for name in sorted(old.keys() | new.keys()):
        o, n = old.get(name), new.get(name)
        fsym = f"{symbol}.{name}"
        fpath = (*path, name)
        if o is None:
            d.emit("HTTP-response-field-added", fsym, fpath, None, n and _public(n))
        elif n is None or (o["required"] and not n["required"]):
            d.emit("HTTP-response-field-removed", fsym, fpath, _public(o), n and _public(n))
        else:
            d.field("HTTP-doc-changed", fsym, fpath, o, n, "doc")
            if _rules(o) != _rules(n):
                d.emit("HTTP-response-field-changed", fsym, fpath, _rules(o), _rules(n))
            elif o["required"] != n["required"]:  # now always present
                d.emit("HTTP-response-field-added", fsym, (*fpath, "required"), False, True,
                       "now always present")
