"""The HTTP section of the spec: the OpenAPI document is generated and checked, request rules
come from the C parameters they feed, the worker enforces the document it serves (a widened
range is accepted after regenerating, with no code edit), and the section's lints point at
the line."""

from __future__ import annotations

import io
import json
import shutil
import tokenize
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from generator.cli import main
from generator.http.openapi import render_openapi
from generator.loader import load_raw
from generator.problems import SpecError
from generator.spec import load_spec, review_raw
from worker.app import WorkerState, create_app
from worker.contract import Contract
from worker.validation import RequestInvalid, Validator

ROOT = Path(__file__).resolve().parents[1]
SPEC = "spec/worker_ffi.yaml"
OPENAPI = "worker/openapi.json"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of the spec with its artefacts generated."""
    (tmp_path / "spec").mkdir()
    shutil.copy(ROOT / SPEC, tmp_path / SPEC)
    monkeypatch.chdir(tmp_path)
    assert main(["generate"]) == 0
    return tmp_path


def edit(root: Path, old: str, new: str) -> None:
    path = root / SPEC
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


# ----------------------------------------------------------------------- the document

def test_committed_document_is_what_the_spec_generates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    spec = load_spec(SPEC)
    assert spec.http is not None and spec.http.openapi_path == OPENAPI
    assert (ROOT / OPENAPI).read_text() == render_openapi(spec)
    assert json.loads((ROOT / OPENAPI).read_text())["openapi"] == "3.1.0"


def test_check_fails_when_the_document_is_stale(project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    doc = project / OPENAPI
    data = json.loads(doc.read_text())
    data["paths"]["/execute"]["post"]["summary"] = "edited by hand"
    doc.write_text(json.dumps(data, indent=2) + "\n")
    capsys.readouterr()
    assert main(["check"]) & 4
    assert f"{OPENAPI}: stale" in capsys.readouterr().out
    assert main(["generate"]) == 0 and main(["check"]) == 0


def test_request_fields_take_their_rules_from_the_c_parameters() -> None:
    spec = load_spec(ROOT / SPEC)
    start = spec.function("cuda_inference_start")
    params = {p.name: p for p in start.params}
    props = Contract.load().request("execute").properties
    assert (props["max_tokens"]["minimum"], props["max_tokens"]["maximum"]) == (
        params["max_tokens"].range.min, params["max_tokens"].range.max)
    assert props["max_tokens"]["default"] == params["max_tokens"].range.max  # `default: max`
    assert (props["temperature"]["minimum"], props["temperature"]["maximum"]) == (
        params["temperature"].range.min, params["temperature"].range.max)
    assert (props["seed"]["minimum"], props["seed"]["maximum"]) == params["seed"].ctype.int_limits
    assert props["prompt"]["x-ffispec-utf8"] is True and props["prompt"]["minLength"] == 1
    for name in ("max_tokens", "temperature", "seed", "prompt"):
        assert props[name]["x-ffispec-feeds"] == f"cuda_inference_start.{name}"


def test_the_stream_and_the_error_tables_are_in_the_document() -> None:
    doc = Contract.load().document
    media = doc["paths"]["/execute"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    assert media["x-ffispec-stream"]["terminal"] == ["end", "error"]
    assert set(media["x-ffispec-stream"]["events"]) == {"started", "token", "end", "error"}
    events = doc["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[1]]["oneOf"]
    assert [e["properties"]["event"]["const"] for e in events] == [
        "started", "token", "end", "error"]
    responses = doc["paths"]["/execute"]["post"]["responses"]
    assert {"400", "413", "415", "503", "500"} <= set(responses)
    assert "Retry-After" in responses["503"]["headers"]
    assert "Retry-After" not in responses["413"].get("headers", {})
    link = responses["200"]["links"]["CancelSameJob"]
    assert link == {"operationId": "cancel", "requestBody": {"job_id": "$request.body#/job_id"},
                    "description": link["description"]}
    service = doc["x-ffispec-service"]["errors"]
    assert {k: v["status"] for k, v in service.items()} == {
        "INVALID_PARAMETER": 400, "REQUEST_TOO_LARGE": 413, "UNSUPPORTED_MEDIA_TYPE": 415,
        "WORKER_BUSY": 503, "NOT_FOUND": 404, "METHOD_NOT_ALLOWED": 405}


def test_no_constant_of_the_contract_is_typed_in_the_worker() -> None:
    """Every bound of a C parameter and of the HTTP section (ranges, lengths, the body limit,
    statuses) is absent from the worker's source as a literal number."""
    spec = load_spec(ROOT / SPEC)
    assert spec.http is not None
    bounds: set[float] = {spec.http.max_body_bytes}
    for fn in spec.functions:
        for p in fn.params:
            if p.range is not None:
                bounds |= {b for b in (p.range.min, p.range.max) if b is not None}
    for op in spec.http.operations:
        for f in op.request or ():
            bounds |= {b for b in (f.minimum, f.maximum, f.min_length, f.max_length,
                                   f.max_items, f.only) if b is not None}
            if f.items is not None:
                bounds |= {b for b in (f.items.min_length, f.items.max_length) if b is not None}
    bounds |= {e.status for e in spec.http.errors}
    bounds -= {0, 1}  # too common to mean anything (indexes, counts)
    found = []
    # cli.py's process exit codes and testing.py's helpers do not handle requests.
    for path in sorted(set((ROOT / "worker").glob("*.py")) - {ROOT / "worker" / "cli.py",
                                                               ROOT / "worker" / "testing.py"}):
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if tok.type == tokenize.NUMBER and float(eval(tok.string)) in bounds:  # noqa: S307
                found.append(f"{path.name}:{tok.start[0]}: {tok.string}")
    assert not found, found


# --------------------------------------------------------- widen, regenerate, accepted

class RecordingRunner:
    """Stands in for the job runner: records what validation let through."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.active_job_id = None

    def submit(self, request: Any, loop: Any) -> None:
        self.requests.append(request)
        return None  # "busy": the request got past validation and reached the runner

    async def submit_when_free(self, request: Any, loop: Any) -> None:
        return self.submit(request, loop)  # no job is ever stopping here

    def shutdown(self) -> None:
        pass


def test_a_widened_range_is_accepted_after_regenerating_with_no_code_edit(
        project: Path) -> None:
    body = {"job_id": "wide", "prompt": "p", "max_tokens": 4096, "temperature": 3.5}
    with pytest.raises(RequestInvalid):
        Validator(Contract.load()).parse_execute(body)  # the shipped contract refuses it
    edit(project, "range: {min: 1, max: 2048}", "range: {min: 1, max: 8192}")
    edit(project, "range: {min: 0.0, max: 2.0, finite: true}",
         "range: {min: 0.0, max: 4.0, finite: true}")
    assert main(["generate"]) == 0
    widened = Contract.load(project / OPENAPI)
    req = Validator(widened).parse_execute(body)
    assert (req.max_tokens, req.temperature) == (4096, 3.5)
    assert Validator(widened).parse_execute({"job_id": "d", "prompt": "p"}).max_tokens == 8192

    runner = RecordingRunner()
    app = create_app(WorkerState(None, None, None, runner, "host", 0), widened)  # type: ignore[arg-type]
    with TestClient(app) as client:
        r = client.post("/execute", json=body)
        assert r.status_code == 503 and r.headers["Retry-After"]  # reached the runner
        assert client.post("/execute", json={**body, "max_tokens": 8193}).status_code == 400
        assert client.get("/openapi.json").json() == widened.document
    assert [(q.max_tokens, q.temperature) for q in runner.requests] == [(4096, 3.5)]


# ------------------------------------------------------------------------- lints

BAD_SECTIONS = {
    "restated range": ("max_tokens: {feeds: cuda_inference_start.max_tokens, default: max,",
                       "max_tokens: {feeds: cuda_inference_start.max_tokens, default: max, "
                       "range: {min: 1, max: 2048},", "HTTP-restated", "max_tokens"),
    "unknown parameter": ("prompt: {feeds: cuda_inference_start.prompt,",
                          "prompt: {feeds: cuda_inference_start.promt,", "HTTP-feeds-unknown",
                          "prompt"),
    "handle parameter": ("prompt: {feeds: cuda_inference_start.prompt,",
                         "prompt: {feeds: cuda_inference_start.model,", "HTTP-feeds-unknown",
                         "prompt"),
    "unknown error": ("errors: [INVALID_PARAMETER, REQUEST_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE]",
                      "errors: [INVALID_PARAMETER, REQUEST_TOO_BIG, UNSUPPORTED_MEDIA_TYPE]",
                      "HTTP-unknown-error", "errors"),
    "restated status": ("- {key: INVALID_PARAMETER,", "- {key: INVALID_PARAMETER, status: 422,",
                        "HTTP-restated", "INVALID_PARAMETER"),
    "incomplete error": ("- {key: NOT_FOUND, status: 404, message: \"No such route\", "
                         "retriable: false,", "- {key: NOT_FOUND, status: 404,",
                         "HTTP-error-incomplete", "NOT_FOUND"),
    "default out of range": ("temperature: {feeds: cuda_inference_start.temperature, "
                             "default: 1.0,", "temperature: {feeds: "
                             "cuda_inference_start.temperature, default: 9.0,",
                             "HTTP-default-invalid", "temperature"),
    "unknown terminal event": ("terminal: [end, error]", "terminal: [end, failure]",
                               "HTTP-unknown-event", "terminal"),
}


@pytest.mark.parametrize("case", sorted(BAD_SECTIONS))
def test_broken_http_section_names_rule_and_line(tmp_path: Path, case: str) -> None:
    old, new, rule, on_line = BAD_SECTIONS[case]
    text = (ROOT / SPEC).read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    problems = [p for p in info.value.problems if p.rule == rule]
    assert problems, info.value.render()
    line = path.read_text().splitlines()[problems[0].location.line - 1]
    assert on_line in line, (problems[0].render(), line)
    assert problems[0].hint


def test_a_spec_without_http_section_generates_no_document(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / SPEC).read_text())
    del data["http"]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    spec = load_spec(path)
    assert spec.http is None
    from generator.render import ARTEFACTS
    wanted = [a.target(spec) for a in ARTEFACTS if a.applies(spec)]
    assert OPENAPI not in wanted and wanted


def test_the_lock_document_lists_every_operation_and_service_error() -> None:
    spec = load_spec(ROOT / SPEC)
    assert spec.http is not None
    doc = (ROOT / "coordination" / "FFI_INTERFACE_LOCKED.md").read_text()
    section = doc[doc.index("## HTTP service"):doc.index("## Design principles")]
    for op in spec.http.operations:
        assert f"| `{op.id}` | `{op.method} {op.path}` |" in section
        for f in op.request or ():
            assert f"`{f.name}`" in section
            if f.feeds:
                assert f"→ `{f.feeds}`" in section
    for e in spec.http.errors:
        assert f"| `{e.key}`" in section and f"| {e.status} |" in section


def test_hashing_the_contract_leaves_the_specs_own_http_values_alone(tmp_path: Path) -> None:
    """The contract hash strips documentation in place from data built to be hashed; a field's
    default is the spec's own object, so the HTTP section must not be stripped with it."""
    text = (ROOT / SPEC).read_text()
    assert text.count("          default: []\n") == 1
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace("          default: []\n",
                                 "          default: [{doc: kept, title: kept}]\n"))
    raw = load_raw(path)
    spec, findings = review_raw(raw)  # the default is refused, but the model is built
    assert [f.rule for f in findings] == ["HTTP-default-invalid"]
    stop = raw.data["http"]["operations"]["execute"]["request"]["stop"]
    assert stop["default"] == [{"doc": "kept", "title": "kept"}]
    assert spec.contract_hash == load_spec(ROOT / SPEC).contract_hash  # HTTP is not hashed
