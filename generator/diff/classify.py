"""Classify every difference between two versions of a contract (see rules.py for the rule
catalogue). The interface, error table, handles and model format are compared here; functions
and parameters in functions.py. Every change carries its rule, the spec location in both
versions, the values before and after, and a stable fingerprint."""

from __future__ import annotations

from typing import Any

from generator.diff.differ import Change, Differ
from generator.diff.functions import functions
from generator.diff.rules import SEVERITIES
from generator.diff.source import View
from generator.http.diff import http

# ------------------------------------------------------------------------------ entry

def diff_views(old: View, new: View) -> list[Change]:
    d = Differ(old, new)
    _interface(d)
    _errors(d)
    _handles(d)
    _types(d)
    functions(d)
    _model_format(d)
    http(d)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(d.changes, key=lambda c: (order[c.severity], c.symbol, c.rule, c.fingerprint))


# -------------------------------------------------------------------------- interface

_IF_KEYS = frozenset({"name", "version", "c_prefix", "doc", "header", "error_out_param"})
_CODE_KEYS = frozenset({"name", "value", "key", "message", "http_status", "retriable", "doc",
                        "since"})
_HANDLE_KEYS = frozenset({"name", "doc", "parent", "created_by", "destroyed_by",
                          "thread_safety"})

def _interface(d: Differ) -> None:
    o, n = d.old.contract["interface"], d.new.contract["interface"]
    p = ("interface",)
    d.field("IF-renamed", "interface.name", p, o, n, "name")
    d.field("IF-prefix-changed", "interface.c_prefix", p, o, n, "c_prefix")
    d.field("IF-header-changed", "interface.header", p, o, n, "header", "header path")
    d.field("IF-error-param-renamed", "interface.error_out_param", p, o, n, "error_out_param")
    d.field("IF-doc-changed", "interface.doc", p, o, n, "doc")
    d.unclassified("interface", p, o, n, _IF_KEYS)
    oc, nc = d.old.context["interface"], d.new.context["interface"]
    oh, nh = oc["header"], nc["header"]
    hp = ("interface", "header")
    d.field("IF-header-changed", "interface.header", hp, oh, nh, "guard", "include guard")
    d.field("IF-header-changed", "interface.header", hp, oh, nh, "api_macro", "export macro")
    dropped = [i for i in oh["includes"] if i not in nh["includes"]]
    added = [i for i in nh["includes"] if i not in oh["includes"]]
    if dropped:
        d.emit("IF-header-changed", "interface.header", (*hp, "includes"), dropped, None,
               "no longer includes " + ", ".join(dropped))
    if added:
        d.emit("IF-header-includes-added", "interface.header", (*hp, "includes"), None, added,
               "now includes " + ", ".join(added))
    for key in ("title", "consumers", "principles"):
        d.field("IF-doc-changed", f"interface.{key}", p, oc, nc, key)
    for key in ("groups", "exceptions"):
        if d.old.context[key] != d.new.context[key]:
            d.emit("IF-doc-changed", key, (key,), d.old.context[key], d.new.context[key],
                   f"{key} edited")
    if d.old.context["changelog"] != d.new.context["changelog"]:
        d.emit("IF-changelog-changed", "changelog", ("changelog",),
               [c["version"] for c in d.old.context["changelog"]],
               [c["version"] for c in d.new.context["changelog"]])


# ------------------------------------------------------------------------------ errors

def _errors(d: Differ) -> None:
    o, n = d.old.contract["errors"], d.new.contract["errors"]
    p = ("errors",)
    d.field("ERR-enum-renamed", "errors.enum", p, o, n, "enum", "enum type")
    if o["extensible"] != n["extensible"]:
        d.emit("ERR-enum-opened" if n["extensible"] else "ERR-enum-closed", "errors.extensible",
               (*p, "extensible"), o["extensible"], n["extensible"])
    d.field("ERR-message-changed", "errors.unrecognized_message", p, o, n,
            "unrecognized_message", "message for unknown values")
    d.field("ERR-doc-changed", "errors.doc", p, d.old.context["errors"],
            d.new.context["errors"], "doc")
    old_codes = {c["name"]: c for c in o["codes"]}
    new_codes = {c["name"]: c for c in n["codes"]}
    new_by_value = {c["value"]: c for c in n["codes"] if c["name"] not in old_codes}
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for name, oc in old_codes.items():
        nc = new_codes.get(name)
        if nc is None and oc["value"] in new_by_value:
            nc = new_by_value.pop(oc["value"])
            d.emit("ERR-renamed", name, ("errors", name), name, nc["name"],
                   f"{name} is now {nc['name']}", new_path=("errors", nc["name"]))
        if nc is None:
            d.emit("ERR-code-removed", name, ("errors", name), oc["value"], None,
                   f"{name} = {oc['value']}")
        else:
            pairs.append((oc, nc))
    for nc in new_by_value.values():
        rid = "ERR-code-added" if o["extensible"] else "ERR-code-added-closed"
        d.emit(rid, nc["name"], ("errors", nc["name"]), None, nc["value"],
               f"{nc['name']} = {nc['value']}")
    old_bases = d.old.context["errors"]["python_bases"]
    new_bases = d.new.context["errors"]["python_bases"]
    for oc, nc in pairs:
        sym, path = nc["name"], ("errors", oc["name"])
        d.field("ERR-value-renumbered", sym, path, oc, nc, "value")
        d.field("ERR-key-changed", sym, path, oc, nc, "key")
        d.field("ERR-http-status-changed", sym, path, oc, nc, "http_status")
        d.field("ERR-retriable-changed", sym, path, oc, nc, "retriable")
        d.field("ERR-message-changed", sym, path, oc, nc, "message")
        d.field("ERR-doc-changed", sym, path, oc, nc, "doc")
        d.field("ERR-doc-changed", sym, path, oc, nc, "since")
        d.unclassified(sym, path, oc, nc, _CODE_KEYS)
        ob, nb = old_bases.get(oc["name"], []), new_bases.get(nc["name"], [])
        for base in ob:
            if base not in nb:
                d.emit("ERR-python-base-removed", sym, path, base, None, f"no longer a {base}")
        for base in nb:
            if base not in ob:
                d.emit("ERR-python-base-added", sym, path, None, base, f"now also a {base}")


# ----------------------------------------------------------------------------- handles

def _handles(d: Differ) -> None:
    old = {h["name"]: h for h in d.old.contract["handles"]}
    new = {h["name"]: h for h in d.new.contract["handles"]}
    for name in old.keys() - new.keys():
        d.emit("HDL-removed", name, ("handles", name), name, None)
    for name in new.keys() - old.keys():
        d.emit("HDL-added", name, ("handles", name), None, name)
    for name in old.keys() & new.keys():
        o, n, p = old[name], new[name], ("handles", name)
        if o == n:
            continue
        d.field("HDL-parent-changed", name, p, o, n, "parent")
        d.field("HDL-lifecycle-changed", name, p, o, n, "created_by")
        d.field("HDL-lifecycle-changed", name, p, o, n, "destroyed_by")
        if o["thread_safety"] != n["thread_safety"]:
            d.emit("HDL-thread-safety-strengthened" if n["thread_safety"] == "safe"
                   else "HDL-thread-safety-weakened", name, (*p, "thread_safety"),
                   o["thread_safety"], n["thread_safety"])
        d.field("HDL-doc-changed", name, p, o, n, "doc")
        d.unclassified(name, p, o, n, _HANDLE_KEYS)


# ------------------------------------------------------------------------ model format

def _model_format(d: Differ) -> None:
    o, n = d.old.context.get("model_format"), d.new.context.get("model_format")
    if o == n:
        return
    p = ("model_format",)
    if o is None or n is None:
        d.emit("MF-tightened" if o is None else "MF-relaxed", "model_format", p, o, n,
               "model format section " + ("added" if o is None else "removed"))
        return
    d.field("MF-tightened", "model_format", p, o, n, "container")
    d.field("MF-tightened", "model_format", p, o, n, "architecture")
    d.field("MF-doc-changed", "model_format", p, o, n, "doc")
    for section, key in (("metadata", "key"), ("tensors", "name")):
        old = {e[key]: e for e in o.get(section) or []}
        new = {e[key]: e for e in n.get(section) or []}
        sp = (*p, section)
        for k in sorted(new.keys() - old.keys()):
            d.emit("MF-tightened", f"model_format.{section}.{k}", sp, None, new[k],
                   f"{section} entry {k} now required")
        for k in sorted(old.keys() - new.keys()):
            d.emit("MF-relaxed", f"model_format.{section}.{k}", sp, old[k], None,
                   f"{section} entry {k} no longer required")
        for k in sorted(old.keys() & new.keys()):
            for f in (x for x in ("type", "shape") if x in old[k] or x in new[k]):
                d.field("MF-tightened", f"model_format.{section}.{k}", sp, old[k], new[k], f)
            d.field("MF-doc-changed", f"model_format.{section}.{k}", sp, old[k], new[k], "doc")


# ------------------------------------------------------------------------------- types

def _types(d: Differ) -> None:
    """Declared types have no rules of their own yet: any change to one is reported by the
    catch-all (breaking), its documentation as documentation."""
    old, new = d.old.contract.get("types") or [], d.new.contract.get("types") or []

    def shape(types: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in t.items() if k != "doc"} for t in types]

    if shape(old) != shape(new):
        d.emit("CONTRACT-unclassified", "types", ("types",), shape(old), shape(new),
               "declared types")
    old_docs = ([t.get("doc") for t in old], d.old.context.get("type_docs"))
    new_docs = ([t.get("doc") for t in new], d.new.context.get("type_docs"))
    if old_docs != new_docs:
        d.emit("IF-doc-changed", "types", ("types",), old_docs[1], new_docs[1], "type docs")
