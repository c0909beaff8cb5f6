"""Every change-classification rule, as a before/after pair of real specs.

Each case mutates a copy of the worker spec's raw YAML data, writes both versions as YAML,
loads them through the full loader (schema and lints, so every spec here is valid) and
checks that the diff reports the rule with its catalogue severity, that the reverse diff
classifies the opposite direction (where the rule is directional), and that the spec
locations point into both versions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.diff import Change, diff_views
from generator.diff.rules import RULES
from generator.diff.source import View, load_spec_with_lines, spec_view
from generator.loader import load_raw
from generator.roles import TESTING_ROLES

ROOT = Path(__file__).resolve().parents[1]
BASE: dict[str, Any] = load_raw(ROOT / "spec" / "worker_ffi.yaml").data
Mutation = Callable[[dict[str, Any]], None]


# ------------------------------------------------------------------------- helpers

def fn(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in d["functions"] if f["name"] == name)


def param(d: dict[str, Any], f: str, p: str) -> dict[str, Any]:
    return next(q for q in fn(d, f)["params"] if q["name"] == p)


def code(d: dict[str, Any], key: str) -> dict[str, Any]:
    return next(c for c in d["errors"]["codes"] if c["key"] == key)


def handle(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in d["handles"] if h["name"] == name)


def setp(getter: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        if value is _DELETE:
            del getter(d)[key]
        else:
            getter(d)[key] = copy.deepcopy(value)
    return mutate


_DELETE = object()


def both(*mutations: Mutation) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for m in mutations:
            m(d)
    return mutate


def add_function(d: dict[str, Any]) -> None:
    new = copy.deepcopy(fn(d, "cuda_testing_live_handles"))
    new.update(name="cuda_testing_live_contexts", doc="Number of live contexts.")
    new.pop("role", None)  # one function per role
    d["functions"].append(new)


def add_stream_handle(d: dict[str, Any]) -> None:
    d["handles"].append({"name": "CudaStream", "doc": "An ordered queue of device work.",
                         "parent": "CudaContext", "created_by": "cuda_stream_create",
                         "destroyed_by": "cuda_stream_destroy",
                         "thread_safety": "externally_synchronized"})
    create = copy.deepcopy(fn(d, "cuda_init"))
    create.update(name="cuda_stream_create", doc="Create a stream.", requirements=[])
    create["params"][0] = {"name": "ctx", "type": "CudaContext*", "direction": "in",
                           "doc": "The context."}
    create["errors"] = ["INVALID_PARAMETER", "VRAM_OOM", "UNKNOWN"]
    create["returns"]["type"] = "CudaStream*"
    destroy = copy.deepcopy(fn(d, "cuda_destroy"))
    destroy.update(name="cuda_stream_destroy", doc="Destroy a stream.", requirements=[])
    destroy["params"][0].update(name="stream", type="CudaStream*")
    destroy["thread_safety"]["sync_on"] = ["stream"]
    d["functions"] += [create, destroy]


def add_error_code(d: dict[str, Any]) -> None:
    d["errors"]["codes"].insert(-1, {"name": "CUDA_ERROR_TIMEOUT", "value": 10,
                                     "key": "TIMEOUT", "message": "Timed out",
                                     "http_status": 504, "retriable": True})
    fn(d, "cuda_inference_next_token")["errors"].insert(0, "TIMEOUT")


def remove_cancelled(d: dict[str, Any]) -> None:
    d["errors"]["codes"].remove(code(d, "CANCELLED"))
    fn(d, "cuda_inference_next_token")["errors"].remove("CANCELLED")


def rename_prefix(d: Any) -> Any:
    """Replace the C prefix everywhere (names, references, docs)."""
    if isinstance(d, dict):
        for k, v in d.items():
            d[k] = rename_prefix(v)
        return d
    if isinstance(d, list):
        return [rename_prefix(v) for v in d]
    return d.replace("cuda_", "gpu_") if isinstance(d, str) else d


def rename_error_param(d: dict[str, Any]) -> None:
    d["interface"]["error_out_param"] = "err"
    for f in d["functions"]:
        for q in f["params"]:
            if q["name"] == "error_code" and q["direction"] == "out":
                q["name"] = "err"


def drop_alias(d: dict[str, Any]) -> None:
    f = fn(d, "cuda_get_vram_usage")
    del f["alias_of"]
    f["doc"] = "Device bytes occupied by the model's weights (legacy name)."


def add_model_destroyer(d: dict[str, Any]) -> None:
    new = copy.deepcopy(fn(d, "cuda_unload_model"))
    new.update(name="cuda_model_release", doc="Release a model.", requirements=[])
    d["functions"].append(new)


def swap(f: str, a: str, b: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        ps = fn(d, f)["params"]
        i, j = ps.index(param(d, f, a)), ps.index(param(d, f, b))
        ps[i], ps[j] = ps[j], ps[i]
    return mutate


def drop_concurrency(d: dict[str, Any]) -> None:
    for name in ("cuda_inference_next_token", "cuda_inference_cancel"):
        del fn(d, name)["thread_safety"]["concurrent_with"]


def add_param(d: dict[str, Any]) -> None:
    fn(d, "cuda_inference_cancel")["params"].insert(1, {
        "name": "reason", "type": "int", "direction": "in", "doc": "Why."})


def remove_param(d: dict[str, Any]) -> None:
    ps = fn(d, "cuda_inference_start")["params"]
    ps.remove(param(d, "cuda_inference_start", "seed"))
    refeed(d, "cuda_inference_start.seed", None)


def refeed(d: dict[str, Any], old: str, new: str | None) -> None:
    """Follow a renamed (or removed) C parameter in the HTTP fields that feed it."""
    for op in d.get("http", {}).get("operations", {}).values():
        for fields in [op.get("request") or {}, *(e["data"] for e in (op.get("stream") or {})
                                                   .get("events", {}).values()
                                                   if isinstance(e["data"], dict))]:
            for name, f in list(fields.items()):
                if f.get("feeds") == old:
                    if new is None:
                        del fields[name]
                    else:
                        f["feeds"] = new


def rename_seed(d: dict[str, Any]) -> None:
    param(d, "cuda_inference_start", "seed")["name"] = "rng_seed"
    refeed(d, "cuda_inference_start.seed", "cuda_inference_start.rng_seed")


def F(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: fn(d, name)


def P(f: str, p: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: param(d, f, p)


def R(f: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: fn(d, f)["returns"]


def TS(f: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: fn(d, f)["thread_safety"]


def C(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: code(d, key)


def H(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: handle(d, name)


def I(*path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:  # noqa: E743
    def get(d: dict[str, Any]) -> dict[str, Any]:
        for key in path:
            d = d[key]
        return d
    return get


def fault_allowed(values: list[tuple[int, str]]) -> Mutation:
    return setp(P("cuda_testing_inject_fault", "fault"), "allowed",
                [{"value": v, "name": n, "doc": f"{n}."} for v, n in values])


_FAULTS = [(0, "NONE"), (1, "DEVICE_LOST"), (2, "EVICT_WEIGHTS")]
_NONE = None  # no "before" mutation: the worker spec as it is


def _as_is(d: dict[str, Any]) -> None:
    """As an "after" mutation: the worker spec exactly as it is (undoes "before")."""




# (rule, "before" mutation or None, "after" mutation, rule expected in the reverse diff).
# "before" makes the old version; the new version is "before" then "after" (or, with
# `_as_is`, the worker spec itself).
CASES: list[tuple[str, Mutation | None, Mutation, str | None]] = [
    ("FN-removed", _NONE, lambda d: d["functions"].remove(fn(d, "cuda_testing_live_handles")),
     "FN-added"),
    ("FN-added", _NONE, add_function, "FN-removed"),
    ("FN-deprecated", _NONE, setp(F("cuda_get_process_vram_usage"), "deprecated",
                                  {"since": "1.0.0", "reason": "Use tracked bytes."}),
     "FN-undeprecated"),
    ("FN-undeprecated", _NONE, setp(F("cuda_get_vram_usage"), "deprecated", _DELETE),
     "FN-deprecated"),
    ("FN-role-changed", _NONE, both(setp(F("cuda_contract_version"), "role", "contract_hash"),
                                    setp(F("cuda_contract_hash"), "role", "contract_version")),
     "FN-role-changed"),
    # A testing-hook role is tooling metadata: removing, adding or exchanging one is
    # documentation; a generated role given up (or taken) is still breaking.
    ("FN-tooling-role-changed", _NONE, setp(F("cuda_testing_fail_call"), "role", _DELETE),
     "FN-tooling-role-changed"),
    ("FN-tooling-role-changed", _NONE, both(setp(F("cuda_testing_live_handles"), "role",
                                                 "testing_tracked_bytes"),
                                            setp(F("cuda_testing_tracked_bytes"), "role",
                                                 "testing_live_handles")),
     "FN-tooling-role-changed"),
    ("FN-role-changed", _NONE, setp(F("cuda_contract_hash"), "role", _DELETE), "FN-role-changed"),
    ("FN-alias-changed", _NONE, drop_alias, "FN-alias-changed"),
    ("FN-return-type-changed", _NONE, setp(R("cuda_get_device_count"), "type", "int64_t"),
     "FN-return-type-changed"),
    ("FN-return-nullable", _NONE, setp(R("cuda_last_error_detail"), "nullable", True),
     "FN-return-non-null"),
    ("FN-return-non-null", setp(R("cuda_last_error_detail"), "nullable", True),
     setp(R("cuda_last_error_detail"), "nullable", False), "FN-return-nullable"),
    ("FN-return-ownership-changed", _NONE,
     setp(R("cuda_last_error_detail"), "ownership", "transferred"),
     "FN-return-ownership-changed"),
    ("FN-return-lifetime-extended", _NONE,
     setp(R("cuda_last_error_detail"), "ownership", "static"), "FN-return-ownership-changed"),
    ("FN-return-on-error-changed", _NONE, setp(R("cuda_model_get_vram_usage"), "on_error", "1"),
     "FN-return-on-error-changed"),
    ("FN-return-values-added", _NONE,
     lambda d: R("cuda_inference_stop_reason")(d)["values"].append(
         {"value": 4, "name": "FAILED", "doc": "Generation failed."}),
     "FN-return-values-removed"),
    ("FN-return-values-removed", _NONE, lambda d: R("cuda_inference_stop_reason")(d)["values"].pop(),
     "FN-return-values-added"),
    ("FN-return-value-renamed", _NONE,
     lambda d: R("cuda_inference_stop_reason")(d)["values"][1].__setitem__("name", "END_OF_SEQUENCE"),
     "FN-return-value-renamed"),
    ("FN-return-false-means-changed", _NONE,
     setp(R("cuda_check_device_health"), "false_means", "the device was lost"),
     "FN-return-false-means-changed"),
    ("FN-param-added", _NONE, add_param, "FN-param-removed"),
    ("FN-param-removed", _NONE, remove_param, "FN-param-added"),
    ("FN-param-moved", _NONE, swap("cuda_inference_start", "max_tokens", "temperature"),
     "FN-param-moved"),
    ("FN-param-renamed", _NONE, rename_seed, "FN-param-renamed"),
    ("FN-param-type-changed", _NONE, setp(P("cuda_inference_start", "seed"), "type", "uint32_t"),
     "FN-param-type-changed"),
    ("FN-param-direction-changed", _NONE,
     setp(P("cuda_load_model", "vram_bytes_used"), "direction", "inout"),
     "FN-param-direction-changed"),
    ("FN-param-nullable-tightened", _NONE,
     setp(P("cuda_inference_next_token", "token_index"), "nullable", False),
     "FN-param-nullable-relaxed"),
    ("FN-param-nullable-relaxed", _NONE, setp(P("cuda_load_model", "ctx"), "nullable", True),
     "FN-param-nullable-tightened"),
    ("FN-param-ownership-changed", _NONE,
     setp(P("cuda_load_model", "model_path"), "ownership", "transferred"),
     "FN-param-ownership-changed"),
    ("FN-param-range-narrowed", _NONE,
     setp(P("cuda_inference_start", "max_tokens"), "range", {"min": 1, "max": 1024}),
     "FN-param-range-widened"),
    ("FN-param-range-widened", _NONE, setp(P("cuda_inference_start", "temperature"), "range",
                                           {"min": 0.0, "max": 4.0, "finite": True}),
     "FN-param-range-narrowed"),
    ("FN-param-range-shifted", _NONE,
     setp(P("cuda_inference_start", "max_tokens"), "range", {"min": 2, "max": 4096}),
     "FN-param-range-shifted"),
    ("FN-param-allowed-removed", _NONE, fault_allowed(_FAULTS[:2]), "FN-param-allowed-added"),
    ("FN-param-allowed-added", _NONE, fault_allowed([*_FAULTS, (3, "RESET")]),
     "FN-param-allowed-removed"),
    ("FN-param-allowed-renamed", _NONE, fault_allowed([(0, "CLEAR"), *_FAULTS[1:]]),
     "FN-param-allowed-renamed"),
    ("FN-param-on-violation-changed", _NONE,
     both(setp(P("cuda_init", "gpu_device"), "on_violation", "INVALID_PARAMETER"),
          lambda d: fn(d, "cuda_init")["errors"].insert(0, "INVALID_PARAMETER")),
     "FN-param-on-violation-changed"),
    ("FN-param-len-changed", _NONE,
     # Without `len` the bindings size the buffer from the declared capacity.
     both(setp(P("cuda_inference_next_token", "token_out"), "len", _DELETE),
          setp(P("cuda_inference_next_token", "token_out"), "capacity", 256)),
     "FN-param-len-changed"),
    ("FN-param-string-tightened", _NONE,
     setp(P("cuda_load_model", "model_path"), "string", {"utf8": True, "min_bytes": 2}),
     "FN-param-string-relaxed"),
    ("FN-param-string-relaxed", _NONE,
     setp(P("cuda_inference_start", "prompt"), "string", {"utf8": False, "min_bytes": 1}),
     "FN-param-string-tightened"),
    ("FN-param-written-weakened", setp(P("cuda_load_model", "vram_bytes_used"), "written",
                                       "always"),
     setp(P("cuda_load_model", "vram_bytes_used"), "written", "on_success"),
     "FN-param-written-strengthened"),
    ("FN-param-written-strengthened", _NONE,
     setp(P("cuda_load_model", "vram_bytes_used"), "written", "always"),
     "FN-param-written-weakened"),
    ("FN-errors-added", _NONE, lambda d: fn(d, "cuda_inference_cancel")["errors"].insert(
        0, "CANCELLED"), "FN-errors-removed"),
    ("FN-errors-removed", _NONE, lambda d: fn(d, "cuda_inference_start")["errors"].remove(
        "VRAM_OOM"), "FN-errors-added"),
    ("FN-thread-safety-weakened", _NONE, setp(F("cuda_check_device_health"), "thread_safety",
                                              {"class": "externally_synchronized",
                                               "sync_on": ["ctx"]}),
     "FN-thread-safety-strengthened"),
    ("FN-thread-safety-strengthened", _NONE,
     setp(F("cuda_inference_free"), "thread_safety", {"class": "safe"}),
     "FN-thread-safety-weakened"),
    ("FN-sync-added", _NONE, setp(TS("cuda_inference_start"), "sync_on", ["model", "prompt"]),
     "FN-sync-removed"),
    ("FN-sync-removed", setp(TS("cuda_inference_start"), "sync_on", ["model", "prompt"]),
     setp(TS("cuda_inference_start"), "sync_on", ["model"]), "FN-sync-added"),
    ("FN-concurrency-removed", _NONE, drop_concurrency, "FN-concurrency-added"),
    ("FN-concurrency-added", drop_concurrency, _as_is, "FN-concurrency-removed"),
    ("FN-doc-changed", _NONE, setp(F("cuda_init"), "doc", "Open a context on one device."),
     "FN-doc-changed"),
    ("FN-metadata-changed", _NONE,
     setp(F("cuda_init"), "requirements", ["M0-W-1110", "M0-W-1010"]), "FN-metadata-changed"),
    ("ERR-code-removed", _NONE, remove_cancelled, "ERR-code-added"),
    ("ERR-code-added", _NONE, add_error_code, "ERR-code-removed"),
    ("ERR-code-added-closed", setp(I("errors"), "extensible", False),
     add_error_code, "ERR-code-removed"),
    ("ERR-value-renumbered", _NONE, setp(C("UNKNOWN"), "value", 100), "ERR-value-renumbered"),
    ("ERR-renamed", _NONE, setp(C("UNKNOWN"), "name", "CUDA_ERROR_INTERNAL"), "ERR-renamed"),
    ("ERR-key-changed", _NONE, lambda d: rename_key(d, "VRAM_OOM", "OUT_OF_MEMORY"),
     "ERR-key-changed"),
    ("ERR-http-status-changed", _NONE, setp(C("CANCELLED"), "http_status", 409),
     "ERR-http-status-changed"),
    ("ERR-retriable-changed", _NONE, setp(C("VRAM_OOM"), "retriable", False),
     "ERR-retriable-changed"),
    ("ERR-message-changed", _NONE, setp(C("VRAM_OOM"), "message", "Out of device memory"),
     "ERR-message-changed"),
    ("ERR-python-base-removed", _NONE, setp(C("VRAM_OOM"), "python_bases", _DELETE),
     "ERR-python-base-added"),
    ("ERR-python-base-added", _NONE, setp(C("MODEL_LOAD_FAILED"), "python_bases", ["OSError"]),
     "ERR-python-base-removed"),
    ("ERR-enum-renamed", _NONE, setp(I("errors"), "enum", "CudaStatus"), "ERR-enum-renamed"),
    ("ERR-enum-opened", setp(I("errors"), "extensible", False), _as_is,
     "ERR-enum-closed"),
    ("ERR-enum-closed", _NONE, setp(I("errors"), "extensible", False), "ERR-enum-opened"),
    ("ERR-doc-changed", _NONE, setp(C("CANCELLED"), "doc", "Stopped by cuda_inference_cancel."),
     "ERR-doc-changed"),
    ("HDL-removed", add_stream_handle, _as_is, "HDL-added"),
    ("HDL-added", _NONE, add_stream_handle, "HDL-removed"),
    ("HDL-parent-changed", _NONE, setp(H("InferenceResult"), "parent", "CudaContext"),
     "HDL-parent-changed"),
    ("HDL-lifecycle-changed", add_model_destroyer,
     setp(H("CudaModel"), "destroyed_by", "cuda_model_release"),
     "HDL-lifecycle-changed"),
    ("HDL-thread-safety-weakened", setp(H("CudaContext"), "thread_safety", "safe"),
     _as_is, "HDL-thread-safety-strengthened"),
    ("HDL-thread-safety-strengthened", _NONE, setp(H("CudaContext"), "thread_safety", "safe"),
     "HDL-thread-safety-weakened"),
    ("HDL-doc-changed", _NONE, setp(H("CudaModel"), "doc", "Weights in device memory."),
     "HDL-doc-changed"),
    ("IF-renamed", _NONE, setp(I("interface"), "name", "worker_core"), "IF-renamed"),
    ("IF-prefix-changed", _NONE, lambda d: rename_prefix(d) and None, "IF-prefix-changed"),
    ("IF-header-changed", _NONE, setp(I("interface", "header"), "path",
                                      "native/include/worker_core.h"), "IF-header-changed"),
    ("IF-header-includes-added", _NONE, setp(I("interface", "header"), "includes",
                                             ["stdbool.h", "stddef.h", "stdint.h", "stdio.h"]),
     "IF-header-changed"),
    ("IF-error-param-renamed", _NONE, rename_error_param, "IF-error-param-renamed"),
    ("IF-doc-changed", _NONE, lambda d: d["interface"]["principles"].append("Be kind."),
     "IF-doc-changed"),
    ("IF-changelog-changed", _NONE, lambda d: d["changelog"][0]["changes"].append("Typo fixes."),
     "IF-changelog-changed"),
    ("MF-tightened", _NONE, lambda d: d["model_format"]["metadata"].append(
        {"key": "worker-tiny.head_count", "type": "uint32", "doc": "Heads."}), "MF-relaxed"),
    ("MF-relaxed", _NONE, lambda d: d["model_format"]["tensors"].pop(), "MF-tightened"),
    ("MF-doc-changed", _NONE, setp(I("model_format"), "doc", "A tiny model."), "MF-doc-changed"),
]


def rename_key(d: dict[str, Any], old: str, new: str) -> None:
    code(d, old)["key"] = new
    for f in d["functions"]:
        f["errors"] = [new if k == old else k for k in f["errors"]]


# ------------------------------------------------------------------------- machinery

def _view(data: dict[str, Any], path: Path) -> View:
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=100), encoding="utf-8")
    spec, lines = load_spec_with_lines(path)
    return spec_view(spec, lines, path.name)


def _pair(tmp_path: Path, before: Mutation | None, after: Mutation) -> tuple[View, View]:
    old = copy.deepcopy(BASE)
    if before is not None:
        before(old)
    new = copy.deepcopy(BASE)
    if before is not None and after is not _as_is:
        before(new)
    after(new)
    return _view(old, tmp_path / "before.yaml"), _view(new, tmp_path / "after.yaml")


def _file_of(location: str | None) -> str:
    assert location is not None
    return Path(location.rsplit(":", 1)[0]).name


def _rules(changes: list[Change]) -> set[str]:
    return {c.rule for c in changes}


@pytest.mark.parametrize("rule_id,before,after,reverse", CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_change(tmp_path: Path, rule_id: str, before: Mutation | None,
                                  after: Mutation, reverse: str | None) -> None:
    old, new = _pair(tmp_path, before, after)
    assert diff_views(old, old) == [], "a spec compared with itself has no changes"
    changes = diff_views(old, new)
    hits = [c for c in changes if c.rule == rule_id]
    assert hits, f"{rule_id} not reported; got {sorted(_rules(changes))}"
    for c in hits:
        assert c.severity == RULES[rule_id].severity
        # A symbol that exists on one side only has no location on the other.
        for loc, side, absent in ((c.old_location, "before.yaml", "added"),
                                  (c.new_location, "after.yaml", "removed")):
            if loc is None:
                assert absent in c.rule, f"{c.rule}: no location in {side}"
            else:
                assert _file_of(loc) == side
        assert len(c.fingerprint) == 12
    backwards = diff_views(new, old)
    if reverse is not None:
        assert reverse in _rules(backwards), f"reverse: {sorted(_rules(backwards))}"
    if RULES[rule_id].severity != RULES[reverse or rule_id].severity:
        assert rule_id not in _rules(backwards), "a directional rule fired both ways"


def test_every_rule_has_a_case() -> None:
    # The HTTP section's rules have their cases in tests/test_http_diff_rules.py.
    covered = {c[0] for c in CASES} | {"CONTRACT-unclassified"} | {
        r for r in RULES if r.startswith("HTTP-")}
    assert covered == set(RULES), f"rules without a case: {sorted(set(RULES) - covered)}"
    assert len(RULES) >= 25


def test_unclassified_contract_field_is_treated_as_breaking(tmp_path: Path) -> None:
    old, _ = _pair(tmp_path, None, lambda d: None)
    contract = copy.deepcopy(old.contract)
    contract["functions"][0]["calling_convention"] = "stdcall"  # a field no rule knows
    new = View("new", old.file, old.version, contract, old.context, old.lines)
    [change] = diff_views(old, new)
    assert (change.rule, change.severity) == ("CONTRACT-unclassified", "breaking")
    assert "calling_convention" in change.message


def test_locations_name_the_line_in_each_version(tmp_path: Path) -> None:
    def move_and_tighten(d: dict[str, Any]) -> None:
        d["functions"].insert(0, d["functions"].pop())  # shift every line of the function
        param(d, "cuda_inference_next_token", "token_index")["nullable"] = False

    old, new = _pair(tmp_path, None, move_and_tighten)
    [c] = [c for c in diff_views(old, new) if c.rule == "FN-param-nullable-tightened"]
    for loc, path in ((c.old_location, tmp_path / "before.yaml"),
                      (c.new_location, tmp_path / "after.yaml")):
        assert loc is not None
        line = int(loc.rsplit(":", 1)[1])
        text = path.read_text().splitlines()[line - 1]
        assert "token_index" in text or "nullable" in text, (loc, text)
    assert c.old_location != c.new_location


def test_fingerprints_are_stable_and_distinct(tmp_path: Path) -> None:
    mutate = both(setp(P("cuda_load_model", "ctx"), "nullable", True),
                  setp(P("cuda_inference_start", "max_tokens"), "range", {"min": 1, "max": 9}))
    first = diff_views(*_pair(tmp_path, None, mutate))
    second = diff_views(*_pair(tmp_path, None, mutate))
    assert [c.fingerprint for c in first] == [c.fingerprint for c in second]
    # Four: the HTTP field that feeds max_tokens narrows with the C range, and its default
    # (`default: max`) follows.
    assert len({c.fingerprint for c in first}) == len(first) == 4
    assert {c.rule for c in first} >= {"FN-param-range-narrowed", "HTTP-request-narrowed",
                                       "HTTP-request-default-changed"}


def test_key_rename_is_not_reported_as_new_errors(tmp_path: Path) -> None:
    changes = diff_views(*_pair(tmp_path, None,
                                lambda d: rename_key(d, "VRAM_OOM", "OUT_OF_MEMORY")))
    assert _rules(changes) == {"ERR-key-changed"}


def test_inserting_a_parameter_does_not_report_the_shifted_ones_as_moved(tmp_path: Path) -> None:
    changes = diff_views(*_pair(tmp_path, None, add_param))
    assert _rules(changes) == {"FN-param-added"}


def test_testing_roles_leave_the_contract_hash_and_the_native_body(tmp_path: Path) -> None:
    """A testing-hook role is metadata for tooling: the hash (and so the library's reported
    hash and the bindings' load check) and the hand-written implementation stay as they are;
    a generated role is part of the hash."""
    def no_testing_roles(d: dict[str, Any]) -> None:
        for f in d["functions"]:
            if str(f.get("role", "")).startswith("testing_"):
                del f["role"]

    def no_hash_role(d: dict[str, Any]) -> None:
        del fn(d, "cuda_contract_hash")["role"]

    specs = {}
    for name, mutate in (("with", _as_is), ("without", no_testing_roles), ("no-hash", no_hash_role)):
        data = copy.deepcopy(BASE)
        mutate(data)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, width=100), encoding="utf-8")
        specs[name] = load_spec_with_lines(path)[0]
    with_roles = specs["with"]
    assert {f.role for f in with_roles.functions if f.group == "testing"} == set(TESTING_ROLES)
    assert with_roles.contract_hash == specs["without"].contract_hash
    assert with_roles.contract_hash != specs["no-hash"].contract_hash
    for f in with_roles.functions:
        if f.role in TESTING_ROLES:
            assert not f.generated_body, f"{f.name}: a testing hook is implemented by hand"
    assert [c.rule for c in diff_views(*_pair(tmp_path, no_testing_roles, _as_is))] == \
        ["FN-tooling-role-changed"] * len(TESTING_ROLES)
