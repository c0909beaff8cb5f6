"""Turn schema-valid raw data into the frozen model. Cross-references are kept as names
here and checked by the lints; derived facts (which function creates or destroys which
handle, which parameter is the error channel) are computed once, here."""

from __future__ import annotations

import contextvars
import hashlib
import json
from dataclasses import replace
from typing import Any

from generator.http.model import normalise_http
from generator.loader import RawSpec, display_path
from generator.model import (
    NO_CHANNEL,
    AllowedValue,
    ChangelogEntry,
    Consumer,
    CType,
    Deprecation,
    ErrorChannel,
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
    Targets,
    ThreadSafety,
    TypeDecl,
    TypeField,
)
from generator.problems import Path
from generator.roles import TESTING_ROLES


def normalise(raw: RawSpec) -> Spec:
    d = raw.data
    handles = tuple(_handle(raw, h, ("handles", i)) for i, h in enumerate(d.get("handles", [])))
    handle_names = {h.name for h in handles}
    creates = {h.created_by: h.name for h in handles}
    destroys = {h.destroyed_by: h.name for h in handles}
    iface = d["interface"]
    err_param = _default_channel(iface).get("param") if _default_channel(iface).get(
        "kind") == "out_param" else None
    targets = _targets(d.get("targets", {}), iface)
    checked = iface.get("rules", "checked") == "checked"
    errors = _errors(raw, d["errors"])
    types = tuple(_type_decl(raw, t, ("types", i)) for i, t in enumerate(d.get("types", [])))
    _ALIASES.set({t.name: t.aliased.c for t in types if t.aliased is not None and
                  not t.aliased.pointer})
    functions = tuple(
        _function(raw, f, ("functions", i), handle_names, err_param, creates, destroys, checked,
                  targets.cpp_namespace or "", d["errors"].get("violation", ""))
        for i, f in enumerate(d["functions"])
    )
    roles = {f.role: f for f in functions if f.role}
    by_name = {f.name: f for f in reversed(functions)}
    capacity = d.get("targets", {}).get("python", {}).get("buffer_capacity", DEFAULT_CAPACITY)
    functions = tuple(_with_bindings(_with_channel(f, iface, d["functions"][f.index], errors,
                                                   roles, by_name), types, capacity)
                      for f in functions)
    spec = Spec(
        source=display_path(raw.file),
        sha256=hashlib.sha256(raw.text.encode("utf-8")).hexdigest(),
        interface=_interface(iface, types, handles, errors, functions),
        groups=tuple(Group(g["name"], g["title"], g.get("doc", "")) for g in d["groups"]),
        errors=errors,
        handles=handles,
        functions=functions,
        types=types,
        targets=targets,
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


def _default_channel(iface: dict[str, Any]) -> dict[str, Any]:
    """The interface's default error channel as spec data; `error_out_param: NAME` is
    shorthand for an out-parameter channel."""
    if "error_channel" in iface:
        return dict(iface["error_channel"])
    if "error_out_param" in iface:
        return {"kind": "out_param", "param": iface["error_out_param"]}
    return {"kind": "none"}


def _interface(d: dict[str, Any], types: tuple[TypeDecl, ...], handles: tuple[Handle, ...],
               errors: ErrorTable, functions: tuple[Function, ...]) -> Interface:
    h = d["header"]
    channel = _default_channel(d)
    return Interface(
        name=d["name"], title=d.get("title", d["name"]), version=d["version"],
        c_prefix=d["c_prefix"], doc=d["doc"],
        header=Header(h["path"], h["guard"], h["api_macro"], tuple(h.get("includes", [])),
                      _derived_includes(h, types, handles, errors, functions),
                      h.get("macro_prefix", d["name"].upper())),
        error_out_param=channel.get("param") if channel.get("kind") == "out_param" else None,
        consumers=tuple(Consumer(c["team"], c.get("contact", ""), c["uses"])
                        for c in d.get("consumers", [])),
        principles=tuple(d.get("principles", [])),
        default_channel=ErrorChannel(channel.get("kind", "none"), param=channel.get("param")),
        checked=d.get("rules", "checked") == "checked",
    )


def _derived_includes(h: dict[str, Any], types: tuple[TypeDecl, ...],
                      handles: tuple[Handle, ...], errors: ErrorTable,
                      functions: tuple[Function, ...]) -> tuple[str, ...]:
    """Standard headers the types need plus the explicit ones, sorted; then the library's own
    headers that declare referenced types, in order of first use."""
    ctypes = [p.ctype for f in functions for p in f.params] + [f.returns.ctype for f in functions]
    for t in types:
        ctypes += [fl.ctype for fl in t.fields] + list(t.params)
        ctypes += [c for c in (t.returns, t.aliased) if c is not None]
    standard = {c.standard_header for c in ctypes if c.standard_header} | set(h.get("includes", []))
    library: list[str] = []
    for header in [errors.header, *(x.header for x in handles), *(t.header for t in types)]:
        if header and header not in library and header not in standard:
            library.append(header)
    return (*sorted(standard), *library)


def _targets(d: dict[str, Any], iface: dict[str, Any]) -> Targets:
    name = iface["name"]
    py, native, cpp = (d.get(k, {}) for k in ("python", "native", "cpp"))
    mode = d.get("mode", "contract_first")
    package = py.get("package", name)
    lock_dir = "coordination"  # where the lock workflow keeps its files, under --root
    return Targets(
        mode=mode,
        python_package=package if py.get("enabled", True) else None,
        python_dir=py.get("dir", package.replace(".", "/")),
        python_error_base=py.get("error_base", _camel(name) + "Error"),
        native_library=native.get("library", name),
        native_soname=native.get("soname"),
        # The boundary calls a native core (handle registry, exception boundary) that a project
        # provides, so it is generated only for a spec that names the core's namespace.
        cpp_namespace=cpp.get("namespace")
        if mode == "contract_first" and cpp.get("enabled", True) else None,
        cpp_dir=cpp.get("dir", "native/src/generated"),
        lock_dir=lock_dir,
        lock_document=f"{lock_dir}/FFI_INTERFACE_LOCKED.md",
        lock_baseline=f"{lock_dir}/ffi.lock.json",
        lock_timeline=f"{lock_dir}/master-timeline.md",
        header_path=iface["header"]["path"],
        schema_copy=d.get("schema", "spec/schema.json"),
        **_rust_target(d.get("rust", {}), name),
    )


def _rust_target(d: dict[str, Any], name: str) -> dict[str, Any]:
    crate = d.get("crate", name.replace("-", "_").lower())
    return {"rust_crate": crate if d.get("enabled", True) else None,
            "rust_dir": d.get("dir", f"bindings/rust/{crate}")}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


def _errors(raw: RawSpec, d: dict[str, Any]) -> ErrorTable:
    codes = tuple(
        ErrorCode(
            name=c["name"], value=c["value"], key=c["key"], message=c["message"],
            http_status=c.get("http_status"), retriable=c.get("retriable"), doc=c.get("doc", ""),
            since=c.get("since"), python_bases=tuple(c.get("python_bases", [])),
            location=raw.where(("errors", "codes", i)), result=bool(c.get("success", False)),
        )
        for i, c in enumerate(d["codes"])
    )
    keys = {c.key for c in codes}
    return ErrorTable(d.get("enum"), bool(d.get("extensible", False)), d.get("doc", ""), codes,
                      d.get("unrecognized_message", "Unrecognized error code"),
                      header=d.get("header"),
                      unknown=d.get("unknown", "UNKNOWN" if "UNKNOWN" in keys else None),
                      violation=d.get("violation"),
                      location=raw.where(("errors",)))


def _handle(raw: RawSpec, d: dict[str, Any], path: Path) -> Handle:
    return Handle(d["name"], d["doc"], d.get("parent"), d["created_by"], d["destroyed_by"],
                  d["thread_safety"], raw.where(path), d.get("struct_tag", ""), d.get("header"))


def _type_decl(raw: RawSpec, d: dict[str, Any], path: Path) -> TypeDecl:
    return TypeDecl(
        name=d["name"], kind=d["kind"], doc=d["doc"], location=raw.where(path),
        header=d.get("header"),
        values=tuple(AllowedValue(v["value"], v["name"], v.get("doc", "")) for v in d.get("values", [])),
        fields=tuple(TypeField(f["name"], _ctype(raw, f["type"], (*path, "fields", i, "type")),
                               f["doc"]) for i, f in enumerate(d.get("fields", []))),
        returns=_ctype(raw, d["returns"], (*path, "returns")) if "returns" in d else None,
        params=tuple(_ctype(raw, t, (*path, "params", i)) for i, t in enumerate(d.get("params", []))),
        constants=tuple(AllowedValue(v["value"], v["name"], v.get("doc", ""))
                        for v in d.get("constants", [])),
        struct_tag=d.get("struct_tag", ""),
        aliased=_ctype(raw, d["type"], (*path, "type")) if "type" in d else None,
    )


class TypeSyntaxError(ValueError):
    """A C type the parser refuses, with where it is written."""

    def __init__(self, message: str, location: Any, path: Path) -> None:
        super().__init__(message)
        self.location = location
        self.path = path


# Scalar aliases declared in `types:` (sqlite3_int64 -> long long), for the spec being built.
_ALIASES: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("aliases",
                                                                                default=None)


def _ctype(raw: RawSpec, text: str, path: Path) -> CType:
    try:
        ctype = CType.parse(text)
    except ValueError as exc:
        raise TypeSyntaxError(str(exc), raw.where(path), path) from None
    scalar = (_ALIASES.get() or {}).get(ctype.base)
    return replace(ctype, scalar=scalar) if scalar else ctype


def _with_channel(fn: Function, iface: dict[str, Any], d: dict[str, Any], errors: ErrorTable,
                  roles: dict[str, Function], by_name: dict[str, Function]) -> Function:
    """Resolve the function's error channel: its own `error_channel:` over the interface's;
    a function that declares no error and no channel of its own cannot fail."""
    base = _default_channel(iface)
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
    return replace(fn, channel=channel) if kind != "none" else replace(fn, channel=NO_CHANNEL)


def _param(raw: RawSpec, d: dict[str, Any], path: Path, handles: set[str], err_param: str | None,
           checked: bool = True, violation: str = "") -> Param:
    ctype = _ctype(raw, d["type"], (*path, "type"))
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


def _function(raw: RawSpec, d: dict[str, Any], path: Path, handles: set[str],
              err_param: str | None, creates: dict[str, str], destroys: dict[str, str],
              checked: bool = True, namespace: str = "", violation: str = "") -> Function:
    r = d["returns"]
    rtype = _ctype(raw, r["type"], (*path, "returns", "type"))
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


# Capacity of an out-buffer whose spec gives a length relation but no `capacity:`
# (targets.python.buffer_capacity overrides it for a whole spec).
DEFAULT_CAPACITY = 256


def _with_bindings(fn: Function, types: tuple[TypeDecl, ...], capacity: int) -> Function:
    """How the Python bindings treat each parameter, decided once (see `binding_kind`);
    out-buffers without a declared capacity get the spec's default."""
    kinds = {t.name: t.kind for t in types}
    receiver = next((p.name for p in fn.params if p.handle and p.ctype.depth == 1
                     and p.direction == "in"), None)
    by_name = {p.name: p for p in fn.params}
    params = []
    for p in fn.params:
        kind = binding_kind(fn, p, receiver, by_name, kinds)
        size = p.capacity if p.capacity or kind not in ("text_out", "bytes_out") else capacity
        params.append(replace(p, binding=kind, capacity=size))
    return replace(fn, params=tuple(params))


def binding_kind(fn: Function, p: Param, receiver: str | None, by_name: dict[str, Param],
                 kinds: dict[str, str]) -> str:
    """receiver (self), handle (another handle object), error_out, out_handle, capacity
    (the bindings' buffer size), length (of an input buffer), length_inout, text_out,
    bytes_out, string, bytes, int, float, bool, out_value (a scalar result kept by the
    bindings), inout_value (a scalar passed in and read back), null (an optional
    out-parameter passed as NULL), fixed (a named constant), or unsupported (no Python
    rendering yet)."""
    t = p.ctype
    base_kind = kinds.get(t.base)
    if p.name == receiver:
        return "receiver"
    if p.is_error_out:
        return "error_out"
    if p.fixed is not None:
        return "fixed"
    if p.is_out_handle:
        return "out_handle"
    if p.len_of is not None:
        buffer = by_name[p.len_of]
        if p.ctype.pointer:
            return "length_inout"
        return "capacity" if buffer.direction == "out" else "length"
    if p.handle is not None and t.depth == 1 and p.direction == "in":
        return "handle"
    if p.direction in ("out", "inout") and t.depth == 1 and (p.capacity or p.len) and \
            not p.nullable:
        if t.base == "char":
            return "text_out"
        if t.base in ("void", "unsigned char", "uint8_t", "int8_t", "signed char"):
            return "bytes_out"
        return "unsupported"
    if p.direction == "out" and p.nullable:
        return "null"
    if p.direction == "in" and t.is_string:
        return "string"
    if p.direction == "in" and t.depth == 1 and t.const and p.len is not None and \
            t.base in ("void", "unsigned char", "uint8_t", "char"):
        return "bytes"
    if p.direction == "in" and base_kind == "enum" and t.depth == 0:
        return "int"
    if p.direction == "in" and t.depth == 0:
        if t.is_integer:
            return "int"
        if t.is_float:
            return "float"
        if t.is_bool:
            return "bool"
    if p.direction in ("out", "inout") and t.depth == 1 and not t.const and (
            t.pointee.is_integer or t.pointee.is_float or t.pointee.is_bool or base_kind == "enum"):
        return "out_value" if p.direction == "out" else "inout_value"
    return "unsupported"


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
        out.append(replace(p, **changes) if changes else p)
    return tuple(out)


# ----------------------------------------------------------------- canonical form and hash

_DOC_FIELDS = frozenset({"doc", "details", "notes", "reason", "title", "message_doc",
                         "null_means", "link_docs", "response_doc",
                         "event_docs"})


def canonical(spec: Spec) -> dict[str, Any]:
    from generator.http.openapi import canonical_http

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
    """Drop documentation-only fields, recursively."""
    if isinstance(value, dict):
        return {k: strip_docs(v) for k, v in value.items() if k not in _DOC_FIELDS}
    if isinstance(value, list):
        return [strip_docs(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed_contract(canonical_data: dict[str, Any]) -> dict[str, Any]:
    """The part of a canonical contract its hash covers: no documentation, no HTTP service
    (the library does not implement it, so its changes must not touch its hash) and no
    testing-hook role (metadata for tooling, generator/roles.py: hashed as no role, so
    declaring one leaves the hash of an existing contract as it was)."""
    data = strip_docs(canonical_data)
    data.pop("http", None)
    for fn in data.get("functions", ()):
        if fn.get("role") in TESTING_ROLES:
            fn["role"] = None
    return dict(data)


def contract_hash(spec: Spec) -> str:
    data = hashed_contract(canonical(spec))
    # The version is part of the contract; the pinned messages are too (callers print them).
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
