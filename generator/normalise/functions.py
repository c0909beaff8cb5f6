"""Functions: parameters with their `len` relations, results, thread safety, deprecation, and the
error channel each one reports through (its own `error_channel:` over the interface's)."""

from __future__ import annotations

from typing import Any, TypeVar

from generator.loader import RawSpec
from generator.model import (
    NO_CHANNEL,
    AllowedValue,
    Deprecation,
    ErrorChannel,
    ErrorTable,
    Function,
    Param,
    Range,
    Returns,
    ThreadSafety,
)
from generator.normalise.types import parse_ctype
from generator.problems import Path


def default_channel(iface: dict[str, Any]) -> dict[str, Any]:
    """The interface's default error channel as spec data; `error_out_param: NAME` is
    shorthand for an out-parameter channel."""
    if "error_channel" in iface:
        return dict(iface["error_channel"])
    if "error_out_param" in iface:
        return {"kind": "out_param", "param": iface["error_out_param"]}
    return {"kind": "none"}


def with_channel(fn: Function, iface: dict[str, Any], d: dict[str, Any], errors: ErrorTable,
                 roles: dict[str, Function], by_name: dict[str, Function]) -> Function:
    """Resolve the function's error channel: its own `error_channel:` over the interface's;
    a function that declares no error and no channel of its own cannot fail."""
    base = default_channel(iface)
    own = d.get("error_channel")
    if own is None and not fn.errors and fn.error_param is None:
        return fn
    merged = {**base, **(own or {})}
    kind = merged.get("kind", "none")
    if kind == "out_param" and fn.error_param is None and not (own and ("kind" in own or "param" in own)):
        # Functions that keep an older signature without the interface's out-parameter: their
        # error value is a sentinel, told apart from a result by the per-thread detail. (A
        # function whose own error_channel names an out-parameter it lacks keeps that channel,
        # and the lints report the missing parameter.)
        kind = "sentinel" if fn.errors else "none"
    detail = merged.get("detail")
    detail_from = detail["function"] if detail else (
        roles["last_error_detail"].name if "last_error_detail" in roles else None)
    scope = detail.get("scope", "thread") if detail else "thread"
    detail_handle = None
    if scope == "handle" and detail_from in by_name:
        detail_handle = next((p.handle for p in by_name[detail_from].params if p.handle), None)
    success = tuple(merged.get("success", ())) if kind == "status" else ()
    if kind == "status" and not success:
        success = tuple(c.key for c in errors.codes if c.is_success)
    by_key = {c.key: c.value for c in errors.codes}
    channel = ErrorChannel(
        kind=kind, param=merged.get("param") if kind == "out_param" else None,
        success=success, success_values=tuple(by_key[k] for k in success if k in by_key),
        sentinel=(merged.get("sentinel") or fn.returns.on_error) if kind == "sentinel" else None,
        code_from=merged.get("code"), detail_from=detail_from if kind != "none" else None,
        scope=scope, detail_handle=detail_handle)
    return complete(fn, channel=channel if kind != "none" else NO_CHANNEL)


def _param(raw: RawSpec, d: dict[str, Any], path: Path, handles: set[str], err_param: str | None,
           checked: bool = True, violation: str = "") -> Param:
    ctype = parse_ctype(raw, d["type"], (*path, "type"))
    handle = ctype.base if ctype.pointer and ctype.base in handles else None
    rng = d.get("range")
    string = d.get("string", {})
    return Param(
        name=d["name"], ctype=ctype, direction=d["direction"],
        nullable=bool(d.get("nullable", False)), ownership=d.get("ownership", "borrowed"),
        doc=d["doc"], location=raw.where(path),
        range=Range(rng.get("min"), rng.get("max"), bool(rng.get("finite", False))) if rng else None,
        allowed=tuple(AllowedValue(a["value"], a["name"], a["doc"]) for a in d.get("allowed", [])),
        # A precondition reports no code: only a checked rule inherits the default.
        on_violation=d.get("on_violation", violation if d.get(
            "rule", "checked" if checked else "precondition") == "checked" else ""),
        violation_declared="on_violation" in d,
        len=d.get("len"), utf8=bool(string.get("utf8", False)), min_bytes=string.get("min_bytes"),
        written=d.get("written"), handle=handle,
        is_error_out=d["name"] == err_param and d["direction"] == "out",
        index=path[-1] if isinstance(path[-1], int) else 0,
        checked=d.get("rule", "checked" if checked else "precondition") == "checked",
        on_failure=d.get("on_failure"), null_means=d.get("null_means"),
        capacity=d.get("capacity"), fixed=d.get("fixed"),
    )


def function(raw: RawSpec, d: dict[str, Any], path: Path, handles: set[str],
             err_param: str | None, creates: dict[str, str], destroys: dict[str, str],
             checked: bool = True, namespace: str = "", violation: str = "") -> Function:
    r = d["returns"]
    rtype = parse_ctype(raw, r["type"], (*path, "returns", "type"))
    ts = d["thread_safety"]
    dep = d.get("deprecated")
    own = d.get("error_channel", {})
    if "param" in own or own.get("kind", "out_param") != "out_param":
        err_param = None  # the function's own channel says which parameter, if any, it is
    return Function(
        name=d["name"], group=d["group"], since=d["since"], doc=d["doc"],
        details=d.get("details", ""),
        params=_link_lengths(tuple(_param(raw, p, (*path, "params", i), handles, err_param, checked,
                                          violation)
                                   for i, p in enumerate(d["params"])),
                             d.get("error_channel", {}).get("param")),
        returns=Returns(
            ctype=rtype, ownership=r.get("ownership"), nullable=bool(r.get("nullable", False)),
            on_error=r.get("on_error"), false_means=r.get("false_means"), doc=r.get("doc", ""),
            handle=rtype.base if rtype.pointer and rtype.base in handles else None,
            values=tuple(AllowedValue(v["value"], v["name"], v["doc"]) for v in r.get("values", [])),
            null_means=r.get("null_means"),
        ),
        errors=tuple(d["errors"]),
        thread_safety=ThreadSafety(ts["class"], tuple(ts.get("sync_on", [])),
                                   tuple(ts.get("concurrent_with", []))),
        location=raw.where(path), role=d.get("role"), alias_of=d.get("alias_of"),
        deprecated=Deprecation(dep["since"], dep.get("replacement"), dep["reason"]) if dep else None,
        requirements=tuple(d.get("requirements", [])), notes=tuple(d.get("notes", [])),
        creates=creates.get(d["name"]), destroys=destroys.get(d["name"]),
        index=path[-1] if isinstance(path[-1], int) else 0,
        cpp_namespace=namespace,
    )


def _link_lengths(params: tuple[Param, ...], own_err_param: str | None) -> tuple[Param, ...]:
    """Record the other side of every `len` relation (the length knows its buffer) and mark a
    function-level out-parameter error channel."""
    by_name = {p.name: p for p in params}
    out = []
    for p in params:
        buffer = next((b for b in params if b.len == p.name), None)
        changes: dict[str, Any] = {}
        if buffer is not None:
            changes["len_of"] = buffer.name
        if p.len is not None and p.len in by_name and by_name[p.len].ctype.pointer and \
                by_name[p.len].direction == "inout":
            changes["len_inout"] = True
        if own_err_param is not None and p.name == own_err_param and p.direction == "out":
            changes["is_error_out"] = True
        out.append(complete(p, **changes))
    return tuple(out)


_Built = TypeVar("_Built")


def complete(obj: _Built, **fields: Any) -> _Built:
    """Set fields of a model object that normalisation has just built and that nothing else
    holds yet: what `dataclasses.replace` gives, without building every object twice."""
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj
