"""Function rules of the change classifier (see classify.py and rules.py): added, removed and
renamed functions, results, errors, thread safety and deprecation, compared by direction (what
the caller may pass, or what the library promises back); parameters are params.py."""

from __future__ import annotations

from typing import Any

from generator.diff.differ import Differ
from generator.diff.params import params
from generator.roles import is_tooling_role

_FN_KEYS = frozenset({"name", "group", "since", "role", "doc", "details", "params", "returns",
                      "errors", "thread_safety", "alias_of", "deprecated", "requirements",
                      "notes"})
_RETURN_KEYS = frozenset({"type", "ownership", "nullable", "on_error", "false_means", "doc", "values"})
_TS_KEYS = frozenset({"class", "sync_on", "concurrent_with"})


def functions(d: Differ) -> None:
    old = {f["name"]: f for f in d.old.contract["functions"]}
    new = {f["name"]: f for f in d.new.contract["functions"]}
    for name in old:
        if name not in new:
            d.emit("FN-removed", name, ("functions", name), old[name]["name"], None,
                   new_path=("functions",))
    for name in new:
        if name not in old:
            d.emit("FN-added", name, ("functions", name), None, name, f"since {new[name]['since']}",
                   new_path=("functions", name))
    common_old = [n for n in old if n in new]
    common_new = [n for n in new if n in old]
    if common_old != common_new:
        d.emit("FN-metadata-changed", "functions", ("functions",), common_old, common_new,
               "declaration order changed")
    old_ctx, new_ctx = d.old.context["functions"], d.new.context["functions"]
    # Functions name error codes by key; a key renamed in the table (ERR-key-changed) is the
    # same code, so sets are compared by the codes' C names.
    codes = (_key_to_name(d.old.contract), _key_to_name(d.new.contract))
    for name, o in old.items():
        n = new.get(name)
        if n is None or (o == n and old_ctx.get(name) == new_ctx.get(name)):
            continue
        _function(d, name, o, n, old_ctx.get(name) or {}, new_ctx.get(name) or {}, codes)


def _key_to_name(contract: dict[str, Any]) -> dict[str, str]:
    return {c["key"]: c["name"] for c in contract["errors"]["codes"]}


def _function(d: Differ, name: str, o: dict[str, Any], n: dict[str, Any],
              oc: dict[str, Any], nc: dict[str, Any],
              codes: tuple[dict[str, str], dict[str, str]]) -> None:
    p = ("functions", name)
    # A testing-hook role is metadata for tooling (generator/roles.py): nothing generated
    # depends on it, so adding, removing or exchanging one is documentation.
    tooling = is_tooling_role(o.get("role")) and is_tooling_role(n.get("role"))
    d.field("FN-tooling-role-changed" if tooling else "FN-role-changed", name, p, o, n, "role")
    d.field("FN-alias-changed", name, p, o, n, "alias_of", "alias of")
    if o["deprecated"] != n["deprecated"]:
        if o["deprecated"] is None:
            d.emit("FN-deprecated", name, (*p, "deprecated"), None, n["deprecated"],
                   f"replacement: {(n['deprecated'] or {}).get('replacement') or 'none'}")
        elif n["deprecated"] is None:
            d.emit("FN-undeprecated", name, (*p, "deprecated"), o["deprecated"], None)
        else:
            d.field("FN-doc-changed", name, p, o, n, "deprecated", "deprecation")
    if o["deprecated"] and n["deprecated"]:
        d.field("FN-doc-changed", name, (*p, "deprecated"), oc, nc, "deprecation_reason",
                "deprecation reason")
    d.field("FN-doc-changed", name, (*p, "returns", "values"), oc, nc, "value_docs",
            "result value docs")
    # What the bindings allocate for out-buffers: no rule of its own yet, so the catch-all.
    d.field("CONTRACT-unclassified", name, (*p, "params"), oc, nc, "capacities",
            "out-buffer capacities")
    for key in ("doc", "details", "notes"):
        d.field("FN-doc-changed", name, p, o, n, key)
    for key in ("group", "since", "requirements"):
        d.field("FN-metadata-changed", name, p, o, n, key)
    d.unclassified(name, p, o, n, _FN_KEYS)
    _returns(d, name, o["returns"], n["returns"])
    _errors(d, name, o["errors"], n["errors"], codes)
    _thread_safety(d, name, o["thread_safety"], n["thread_safety"])
    params(d, name, o["params"], n["params"], oc.get("allowed_docs") or {},
           nc.get("allowed_docs") or {}, codes)


def _returns(d: Differ, name: str, o: dict[str, Any], n: dict[str, Any]) -> None:
    if o == n:
        return
    sym, p = f"{name}.return", ("functions", name, "returns")
    d.field("FN-return-type-changed", sym, p, o, n, "type")
    if o["nullable"] != n["nullable"]:
        d.emit("FN-return-nullable" if n["nullable"] else "FN-return-non-null", sym,
               (*p, "nullable"), o["nullable"], n["nullable"])
    ow, nw = o["ownership"], n["ownership"]
    if ow != nw and ow is not None and nw is not None:
        d.emit("FN-return-lifetime-extended" if (ow, nw) == ("borrowed", "static")
               else "FN-return-ownership-changed", sym, (*p, "ownership"), ow, nw,
               f"{ow} -> {nw}")
    d.field("FN-return-on-error-changed", sym, p, o, n, "on_error")
    _return_values(d, sym, p, o.get("values", []), n.get("values", []))
    d.field("FN-return-false-means-changed", sym, p, o, n, "false_means")
    d.field("FN-doc-changed", sym, p, o, n, "doc")
    d.unclassified(sym, p, o, n, _RETURN_KEYS)


def _return_values(d: Differ, sym: str, p: tuple[str, ...], o: list[dict[str, Any]],
                   n: list[dict[str, Any]]) -> None:
    old = {v["value"]: v["name"] for v in o}
    new = {v["value"]: v["name"] for v in n}
    vp = (*p, "values")
    for value, name in new.items():
        if value not in old:
            d.emit("FN-return-values-added", sym, vp, None, value, f"may now return {value} ({name})")
        elif old[value] != name:
            d.emit("FN-return-value-renamed", sym, vp, old[value], name, f"{value}: {old[value]} -> {name}")
    for value, name in old.items():
        if value not in new:
            d.emit("FN-return-values-removed", sym, vp, value, None, f"no longer returns {value} ({name})")


def _errors(d: Differ, name: str, o: list[str], n: list[str],
            codes: tuple[dict[str, str], dict[str, str]]) -> None:
    p = ("functions", name, "errors")
    old = {codes[0].get(k, k) for k in o}
    new = {codes[1].get(k, k) for k in n}
    for key in n:
        if codes[1].get(key, key) not in old:
            d.emit("FN-errors-added", name, p, None, key, f"now reports {key}")
    for key in o:
        if codes[0].get(key, key) not in new:
            d.emit("FN-errors-removed", name, p, key, None, f"no longer reports {key}")


def _thread_safety(d: Differ, name: str, o: dict[str, Any], n: dict[str, Any]) -> None:
    if o == n:
        return
    p = ("functions", name, "thread_safety")
    if o["class"] != n["class"]:
        d.emit("FN-thread-safety-strengthened" if n["class"] == "safe"
               else "FN-thread-safety-weakened", name, p, o["class"], n["class"],
               f"{o['class']} -> {n['class']}")
    for x in n["sync_on"]:
        if x not in o["sync_on"] and o["class"] == n["class"]:
            d.emit("FN-sync-added", name, p, None, x, f"synchronise on {x}")
    for x in o["sync_on"]:
        if x not in n["sync_on"] and o["class"] == n["class"]:
            d.emit("FN-sync-removed", name, p, x, None, f"no longer synchronise on {x}")
    for x in o["concurrent_with"]:
        if x not in n["concurrent_with"]:
            d.emit("FN-concurrency-removed", name, p, x, None, f"with {x}")
    for x in n["concurrent_with"]:
        if x not in o["concurrent_with"]:
            d.emit("FN-concurrency-added", name, p, None, x, f"with {x}")
    d.unclassified(name, p, o, n, _TS_KEYS)


# -------------------------------------------------------------------------- parameters
