"""Function and parameter rules of the change classifier (see classify.py and rules.py).
Nullability, ranges, string rules, ownership, `written` and thread safety are compared by
direction: what the caller may pass, or what the library promises back."""

from __future__ import annotations

import math
from typing import Any

from generator.diff.differ import Differ
from generator.roles import is_tooling_role

_WRITTEN_RANK = {"always": 2, "on_success": 1, "when_true": 1, None: 0}
_FN_KEYS = frozenset({"name", "group", "since", "role", "doc", "details", "params", "returns",
                      "errors", "thread_safety", "alias_of", "deprecated", "requirements",
                      "notes"})
_RETURN_KEYS = frozenset({"type", "ownership", "nullable", "on_error", "false_means", "doc", "values"})
_TS_KEYS = frozenset({"class", "sync_on", "concurrent_with"})
_PARAM_KEYS = frozenset({"name", "type", "direction", "nullable", "ownership", "doc", "range",
                         "allowed", "on_violation", "len", "utf8", "min_bytes", "written"})


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
    _params(d, name, o["params"], n["params"], oc.get("allowed_docs") or {},
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

def _params(d: Differ, fn: str, o: list[dict[str, Any]], n: list[dict[str, Any]],
            o_docs: dict[str, Any], n_docs: dict[str, Any],
            codes: tuple[dict[str, str], dict[str, str]]) -> None:
    old = {q["name"]: (i, q) for i, q in enumerate(o)}
    new = {q["name"]: (i, q) for i, q in enumerate(n)}
    gone = [q for q in o if q["name"] not in new]
    came = [q for q in n if q["name"] not in old]
    renamed: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for q in list(gone):
        i = old[q["name"]][0]
        match = next((c for c in came if new[c["name"]][0] == i and c["type"] == q["type"]), None)
        if match is not None:
            gone.remove(q)
            came.remove(match)
            renamed.append((q, match))
            d.emit("FN-param-renamed", f"{fn}.{match['name']}", ("functions", fn, "params",
                   q["name"]), q["name"], match["name"], f"{q['name']} -> {match['name']}",
                   new_path=("functions", fn, "params", match["name"]))
    for q in gone:
        d.emit("FN-param-removed", f"{fn}.{q['name']}", ("functions", fn, "params", q["name"]),
               q["name"], None, new_path=("functions", fn, "params"))
    for q in came:
        d.emit("FN-param-added", f"{fn}.{q['name']}", ("functions", fn, "params"), None,
               q["name"], f"{q['type']} {q['name']}", new_path=("functions", fn, "params",
                                                                  q["name"]))
    common_old = [q["name"] for q in o if q["name"] in new]
    common_new = [q["name"] for q in n if q["name"] in old]
    for k, pname in enumerate(common_new):
        if common_old[k] != pname:  # relative order changed, not just shifted by an insertion
            d.emit("FN-param-moved", f"{fn}.{pname}", ("functions", fn, "params", pname),
                   old[pname][0], new[pname][0], f"position {old[pname][0]} -> {new[pname][0]}")
    pairs = [(old[x][1], new[x][1]) for x in common_new] + renamed
    for oq, nq in pairs:
        if oq != nq or o_docs.get(oq["name"]) != n_docs.get(nq["name"]):
            _param(d, fn, oq, nq, o_docs.get(oq["name"]), n_docs.get(nq["name"]), codes)


def _param(d: Differ, fn: str, o: dict[str, Any], n: dict[str, Any], o_docs: Any,
           n_docs: Any, codes: tuple[dict[str, str], dict[str, str]]) -> None:
    sym = f"{fn}.{n['name']}"
    p = ("functions", fn, "params", o["name"])
    np_ = ("functions", fn, "params", n["name"])

    def emit(rule_id: str, key: str, before: Any, after: Any, detail: str = "") -> None:
        d.emit(rule_id, sym, (*p, key), before, after, detail, new_path=(*np_, key))

    def field(rule_id: str, key: str) -> None:
        if o.get(key) != n.get(key):
            emit(rule_id, key, o.get(key), n.get(key), f"{key}: {o.get(key)} -> {n.get(key)}")

    field("FN-param-type-changed", "type")
    field("FN-param-direction-changed", "direction")
    if o["nullable"] != n["nullable"]:
        emit("FN-param-nullable-relaxed" if n["nullable"] else "FN-param-nullable-tightened",
             "nullable", o["nullable"], n["nullable"])
    field("FN-param-ownership-changed", "ownership")
    _range(emit, o, n)
    _allowed(emit, o["allowed"], n["allowed"])
    if codes[0].get(o["on_violation"], o["on_violation"]) != \
            codes[1].get(n["on_violation"], n["on_violation"]):
        emit("FN-param-on-violation-changed", "on_violation", o["on_violation"],
             n["on_violation"], f"{o['on_violation']} -> {n['on_violation']}")
    field("FN-param-len-changed", "len")
    _string(emit, o, n)
    ow, nw = _WRITTEN_RANK[o["written"]], _WRITTEN_RANK[n["written"]]
    if o["written"] != n["written"]:
        emit("FN-param-written-strengthened" if nw > ow else "FN-param-written-weakened",
             "written", o["written"], n["written"], f"written: {o['written']} -> {n['written']}")
    field("FN-doc-changed", "doc")
    d.unclassified(sym, p, o, n, _PARAM_KEYS)
    if o_docs != n_docs:
        emit("FN-doc-changed", "allowed", o_docs, n_docs, "allowed value docs")


def _interval(q: dict[str, Any]) -> tuple[float, float, bool]:
    r = q["range"] or {}
    lo = -math.inf if r.get("min") is None else r["min"]
    hi = math.inf if r.get("max") is None else r["max"]
    return lo, hi, bool(r.get("finite"))


def _contains(a: tuple[float, float, bool], b: tuple[float, float, bool]) -> bool:
    """Every value that b accepts, a accepts too."""
    return a[0] <= b[0] and a[1] >= b[1] and (not a[2] or b[2])


def _range(emit: Any, o: dict[str, Any], n: dict[str, Any]) -> None:
    """Ranges constrain what callers pass (the lints allow them on scalar inputs only)."""
    if o["range"] == n["range"]:
        return
    a, b = _interval(o), _interval(n)
    if a == b:  # e.g. `finite: false` written out: no change of meaning
        return
    if _contains(b, a):
        rid = "FN-param-range-widened"
    else:
        rid = "FN-param-range-narrowed" if _contains(a, b) else "FN-param-range-shifted"
    emit(rid, "range", o["range"], n["range"], f"{_describe(a)} -> {_describe(b)}")


def _describe(r: tuple[float, float, bool]) -> str:
    lo = "-inf" if r[0] == -math.inf else str(r[0])
    hi = "+inf" if r[1] == math.inf else str(r[1])
    return f"{'finite ' if r[2] else ''}[{lo}, {hi}]"


def _allowed(emit: Any, o: list[dict[str, Any]], n: list[dict[str, Any]]) -> None:
    if o == n:
        return
    if not o or not n:  # a list of allowed values appears (restricts) or goes (relaxes)
        emit("FN-param-range-narrowed" if n else "FN-param-range-widened", "allowed",
             o, n, "now restricted to allowed values" if n else "any value allowed")
        return
    old = {a["value"]: a["name"] for a in o}
    new = {a["value"]: a["name"] for a in n}
    for v in old:
        if v not in new:
            emit("FN-param-allowed-removed", "allowed", v, None, f"{old[v]} = {v}")
        elif old[v] != new[v]:
            emit("FN-param-allowed-renamed", "allowed", old[v], new[v], f"{old[v]} -> {new[v]}")
    for v in new:
        if v not in old:
            emit("FN-param-allowed-added", "allowed", None, v, f"{new[v]} = {v}")


def _string(emit: Any, o: dict[str, Any], n: dict[str, Any]) -> None:
    tighter: list[str] = []
    looser: list[str] = []
    if o["utf8"] != n["utf8"]:
        (tighter if n["utf8"] else looser).append(f"utf8: {o['utf8']} -> {n['utf8']}")
    om, nm = o["min_bytes"] or 0, n["min_bytes"] or 0
    if om != nm:
        (tighter if nm > om else looser).append(f"min_bytes: {om} -> {nm}")
    before = {"utf8": o["utf8"], "min_bytes": o["min_bytes"]}
    after = {"utf8": n["utf8"], "min_bytes": n["min_bytes"]}
    if tighter:
        emit("FN-param-string-tightened", "string", before, after, "; ".join(tighter))
    if looser:
        emit("FN-param-string-relaxed", "string", before, after, "; ".join(looser))
