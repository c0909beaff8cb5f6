"""Every change-classification rule of the HTTP section, as a before/after pair of real specs,
in both directions (as tests/test_lock_rules.py does for the C contract): the diff reports
the rule with its catalogue severity and spec locations in both versions, and the reverse
diff reports the opposite direction."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.diff import diff_views
from generator.diff.rules import RULES
from generator.diff.source import View, load_spec_with_lines, spec_view
from generator.loader import load_raw

ROOT = Path(__file__).resolve().parents[1]
BASE: dict[str, Any] = load_raw(ROOT / "spec" / "worker_ffi.yaml").data
Mutation = Callable[[dict[str, Any]], None]


def op(d: dict[str, Any], name: str) -> dict[str, Any]:
    return d["http"]["operations"][name]


def req(d: dict[str, Any], name: str, field: str) -> dict[str, Any]:
    return op(d, name)["request"][field]


def err(d: dict[str, Any], key: str) -> dict[str, Any]:
    return next(e for e in d["http"]["errors"] if e["key"] == key)


def c_param(d: dict[str, Any], fn: str, name: str) -> dict[str, Any]:
    f = next(f for f in d["functions"] if f["name"] == fn)
    return next(p for p in f["params"] if p["name"] == name)


def both(*mutations: Mutation) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for m in mutations:
            m(d)
    return mutate


def add_route(d: dict[str, Any]) -> None:
    op(d, "health")  # the new operation is a copy of health under another path
    d["http"]["operations"]["ready"] = {**copy.deepcopy(op(d, "health")), "path": "/ready"}


def add_event(d: dict[str, Any]) -> None:
    op(d, "execute")["stream"]["events"]["progress"] = {
        "doc": "Progress.", "data": {"done": {"type": "integer"}}}


def add_service_error(d: dict[str, Any]) -> None:
    d["http"]["errors"].append({"key": "RATE_LIMITED", "status": 429, "message": "Slow down",
                                "retriable": True})


def _no_http(d: dict[str, Any]) -> None:
    del d["http"]


# (rule, "before" mutation or None, "after" mutation, rule expected in the reverse diff)
CASES: list[tuple[str, Mutation | None, Mutation, str]] = [
    ("HTTP-service-added", _no_http, lambda d: d.update(http=copy.deepcopy(BASE["http"])),
     "HTTP-service-removed"),
    ("HTTP-service-removed", None, _no_http, "HTTP-service-added"),
    ("HTTP-operation-added", None, add_route, "HTTP-operation-removed"),
    ("HTTP-operation-removed", None, lambda d: d["http"]["operations"].pop("health"),
     "HTTP-operation-added"),
    ("HTTP-operation-moved", None, lambda d: op(d, "cancel").update(path="/jobs/cancel"),
     "HTTP-operation-moved"),
    ("HTTP-request-field-added", None,
     lambda d: op(d, "execute")["request"].update(user={"type": "string", "max_length": 64}),
     "HTTP-request-field-removed"),
    ("HTTP-request-field-added-required", None,
     lambda d: op(d, "execute")["request"].update(user={"type": "string", "required": True}),
     "HTTP-request-field-removed"),
    ("HTTP-request-field-removed", None, lambda d: op(d, "execute")["request"].pop("min_p"),
     "HTTP-request-field-added"),
    ("HTTP-request-field-required", None, lambda d: req(d, "execute", "seed").update(
        required=True), "HTTP-request-field-optional"),
    ("HTTP-request-field-optional", None, lambda d: req(d, "cancel", "job_id").update(
        required=False), "HTTP-request-field-required"),
    ("HTTP-request-type-changed", None, lambda d: req(d, "execute", "top_k").update(
        type="number"), "HTTP-request-type-changed"),
    # A narrowed C range narrows the HTTP field that feeds it: both layers report it.
    ("HTTP-request-narrowed", None, lambda d: c_param(d, "cuda_inference_start", "max_tokens")
     .update(range={"min": 1, "max": 1024}), "HTTP-request-widened"),
    ("HTTP-request-widened", None, lambda d: req(d, "execute", "prompt").update(
        max_length=65536), "HTTP-request-narrowed"),
    ("HTTP-request-default-changed", None, lambda d: req(d, "execute", "temperature").update(
        default=0.7), "HTTP-request-default-changed"),
    ("HTTP-response-field-added", None, lambda d: op(d, "health")["response"]["data"].update(
        uptime_s={"type": "number"}), "HTTP-response-field-removed"),
    ("HTTP-response-field-removed", None,
     lambda d: op(d, "health")["response"]["data"].pop("busy"), "HTTP-response-field-added"),
    ("HTTP-response-field-changed", None,
     lambda d: op(d, "execute")["stream"]["events"]["end"]["data"]["stop_reason"].update(
         enum=["EOS", "MAX_TOKENS"]), "HTTP-response-field-changed"),
    ("HTTP-response-status-changed", None, lambda d: op(d, "cancel")["response"].update(
        status=200), "HTTP-response-status-changed"),
    ("HTTP-event-added", None, add_event, "HTTP-event-removed"),
    ("HTTP-event-removed", add_event, lambda d: op(d, "execute")["stream"]["events"].pop(
        "progress"), "HTTP-event-added"),
    ("HTTP-terminal-changed", None, lambda d: op(d, "execute")["stream"].update(
        terminal=["end"]), "HTTP-terminal-changed"),
    ("HTTP-error-added", None, add_service_error, "HTTP-error-removed"),
    ("HTTP-error-removed", add_service_error, lambda d: d["http"]["errors"].pop(),
     "HTTP-error-added"),
    ("HTTP-status-changed", None, lambda d: err(d, "WORKER_BUSY").update(status=429),
     "HTTP-status-changed"),
    ("HTTP-retriable-changed", None, lambda d: err(d, "WORKER_BUSY").update(retriable=False),
     "HTTP-retriable-changed"),
    ("HTTP-error-message-changed", None, lambda d: err(d, "NOT_FOUND").update(
        message="Nothing here"), "HTTP-error-message-changed"),
    ("HTTP-operation-errors-added", None, lambda d: op(d, "health")["errors"].append(
        "WORKER_BUSY"), "HTTP-operation-errors-removed"),
    ("HTTP-operation-errors-removed", None, lambda d: op(d, "cancel")["errors"].remove(
        "REQUEST_TOO_LARGE"), "HTTP-operation-errors-added"),
    ("HTTP-limit-narrowed", None, lambda d: d["http"].update(max_body_bytes=65536),
     "HTTP-limit-widened"),
    ("HTTP-limit-widened", None, lambda d: d["http"].update(max_body_bytes=1048576),
     "HTTP-limit-narrowed"),
    ("HTTP-retry-after-changed", None, lambda d: d["http"].update(retry_after_seconds=5),
     "HTTP-retry-after-changed"),
    ("HTTP-link-changed", None, lambda d: op(d, "cancel").pop("links"), "HTTP-link-changed"),
    ("HTTP-metadata-changed", None, lambda d: op(d, "execute")["requirements"].pop(),
     "HTTP-metadata-changed"),
    ("HTTP-doc-changed", None, lambda d: op(d, "health").update(summary="Is it alive?"),
     "HTTP-doc-changed"),
]


def _view(data: dict[str, Any], path: Path) -> View:
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=100), encoding="utf-8")
    spec, lines = load_spec_with_lines(path)
    return spec_view(spec, lines, path.name)


def _pair(tmp_path: Path, before: Mutation | None, after: Mutation) -> tuple[View, View]:
    old = copy.deepcopy(BASE)
    if before is not None:
        before(old)
    new = copy.deepcopy(old)
    after(new)
    return _view(old, tmp_path / "before.yaml"), _view(new, tmp_path / "after.yaml")


def _file_of(location: str | None) -> str:
    assert location is not None
    return Path(location.rsplit(":", 1)[0]).name


@pytest.mark.parametrize("rule_id,before,after,reverse", CASES, ids=[c[0] for c in CASES])
def test_http_rule_fires_on_its_change(tmp_path: Path, rule_id: str, before: Mutation | None,
                                       after: Mutation, reverse: str) -> None:
    old, new = _pair(tmp_path, before, after)
    assert diff_views(old, old) == []
    changes = diff_views(old, new)
    hits = [c for c in changes if c.rule == rule_id]
    assert hits, f"{rule_id} not reported; got {sorted({c.rule for c in changes})}"
    for c in hits:
        assert c.severity == RULES[rule_id].severity
        assert _file_of(c.old_location) == "before.yaml"
        assert _file_of(c.new_location) == "after.yaml"
    assert not [c for c in changes if c.rule == "CONTRACT-unclassified"], changes
    backwards = {c.rule for c in diff_views(new, old)}
    assert reverse in backwards, f"reverse: {sorted(backwards)}"
    if RULES[rule_id].severity != RULES[reverse].severity:
        assert rule_id not in backwards, "a directional rule fired both ways"


def test_every_http_rule_has_a_case() -> None:
    http_rules = {r for r in RULES if r.startswith("HTTP-")}
    assert {c[0] for c in CASES} == http_rules


def test_the_issue_s_four_changes_break_and_their_reverses_do_not() -> None:
    """A narrowed request range, a removed field, a new required field and a changed status
    break callers; the reverse of each is compatible (a status change is breaking both ways)."""
    severity = {r: RULES[r].severity for r in RULES}
    assert severity["HTTP-request-narrowed"] == severity["HTTP-request-field-removed"] == \
        severity["HTTP-request-field-added-required"] == severity["HTTP-status-changed"] == \
        "breaking"
    assert severity["HTTP-request-widened"] == severity["HTTP-request-field-added"] == \
        "compatible"


def test_the_location_of_a_request_change_is_its_line(tmp_path: Path) -> None:
    old, new = _pair(tmp_path, None, lambda d: req(d, "execute", "prompt").update(
        max_length=1024))
    [c] = [c for c in diff_views(old, new) if c.rule == "HTTP-request-narrowed"]
    assert c.new_location is not None
    line = int(c.new_location.rsplit(":", 1)[1])
    text = (tmp_path / "after.yaml").read_text().splitlines()[line - 1]
    assert "max_length" in text or "prompt" in text, text
