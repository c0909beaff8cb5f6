"""Turn schema-valid raw data into the frozen model. Cross-references are kept as names
here and checked by the lints; derived facts (which function creates or destroys which
handle, which parameter is the error channel) are computed once, here.

The interface-level parts are built in this module; declared types (types), functions and
their error channels (functions), the bindings' view of each parameter (bindings) and the
canonical form with the contract hash (canonical) have their own modules. Import from
`generator.normalise`."""

from __future__ import annotations

import hashlib
from typing import Any

from generator.http.resolve import normalise_http
from generator.loader import RawSpec, display_path
from generator.model import (
    ChangelogEntry,
    Consumer,
    ErrorChannel,
    ErrorCode,
    ErrorTable,
    ExceptionEntry,
    Function,
    Group,
    Handle,
    Header,
    Interface,
    Spec,
    Targets,
    TypeDecl,
)
from generator.normalise.bindings import DEFAULT_CAPACITY, binding_kind, with_bindings
from generator.normalise.canonical import canonical, canonical_json, contract_hash, hashed_contract, strip_docs
from generator.normalise.functions import default_channel, function, with_channel
from generator.normalise.types import ALIASES, TypeSyntaxError, type_decl
from generator.problems import Path

__all__ = [
    "DEFAULT_CAPACITY", "TypeSyntaxError", "binding_kind", "canonical", "canonical_json",
    "contract_hash", "hashed_contract", "normalise", "strip_docs",
]


def normalise(raw: RawSpec) -> Spec:
    d = raw.data
    handles = tuple(_handle(raw, h, ("handles", i)) for i, h in enumerate(d.get("handles", [])))
    handle_names = {h.name for h in handles}
    creates = {h.created_by: h.name for h in handles}
    destroys = {h.destroyed_by: h.name for h in handles}
    iface = d["interface"]
    err_param = default_channel(iface).get("param") if default_channel(iface).get(
        "kind") == "out_param" else None
    targets = _targets(d.get("targets", {}), iface)
    checked = iface.get("rules", "checked") == "checked"
    errors = _errors(raw, d["errors"])
    types = tuple(type_decl(raw, t, ("types", i)) for i, t in enumerate(d.get("types", [])))
    ALIASES.set({t.name: t.aliased.c for t in types if t.aliased is not None and
                 not t.aliased.pointer})
    functions = tuple(
        function(raw, f, ("functions", i), handle_names, err_param, creates, destroys, checked,
                 targets.cpp_namespace or "", d["errors"].get("violation", ""))
        for i, f in enumerate(d["functions"])
    )
    roles = {f.role: f for f in functions if f.role}
    by_name = {f.name: f for f in reversed(functions)}
    capacity = d.get("targets", {}).get("python", {}).get("buffer_capacity", DEFAULT_CAPACITY)
    kinds = {t.name: t.kind for t in types}
    functions = tuple(with_bindings(with_channel(f, iface, d["functions"][f.index], errors,
                                                 roles, by_name), kinds, capacity)
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


def _interface(d: dict[str, Any], types: tuple[TypeDecl, ...], handles: tuple[Handle, ...],
               errors: ErrorTable, functions: tuple[Function, ...]) -> Interface:
    h = d["header"]
    channel = default_channel(d)
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
