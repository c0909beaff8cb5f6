"""Parameter rules of the change classifier: renamed, moved, added and removed parameters, and
each parameter's nullability, range, allowed values, string rules, ownership and `written`,
compared by direction (what the caller may pass, or what the library promises back)."""

from __future__ import annotations

import math
from typing import Any

from generator.diff.differ import Differ

_WRITTEN_RANK = {"always": 2, "on_success": 1, "when_true": 1, None: 0}
_PARAM_KEYS = frozenset({"name", "type", "direction", "nullable", "ownership", "doc", "range",
                         "allowed", "on_violation", "len", "utf8", "min_bytes", "written"})


def params(d: Differ, fn: str, o: list[dict[str, Any]], n: list[dict[str, Any]],
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
