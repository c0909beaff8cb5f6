"""`ffispec audit`: what headers contradict. The reconstructed original worker headers carry
the defects D1-D9 of the reference facts; the audit must report each one it can see from
headers, with every location involved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.headers.audit import Finding, audit
from generator.headers.declarations import read_headers

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = "tests/fixtures/headers/worker_original"
HEADERS = [f"{ORIGINAL}/worker_ffi.h", f"{ORIGINAL}/worker_cuda.h"]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return audit(read_headers(HEADERS))
    finally:
        os.chdir(cwd)


def _by(findings: list[Finding], rule: str) -> dict[str, Finding]:
    return {f.subject: f for f in findings if f.rule == rule}


def _files(f: Finding) -> list[str]:
    return [f"{Path(w.file).name}:{w.line}" for w in f.where]


def test_d1_conflicting_error_tables_with_both_locations(findings: list[Finding]) -> None:
    conflicts = _by(findings, "AUDIT-constant-conflict")
    # The locked table (0..8, 99) and the legacy one (the M0 spec order plus INVALID_PARAMETER=8).
    assert set(conflicts) == {"CUDA_ERROR_INVALID_DEVICE", "CUDA_ERROR_MODEL_LOAD_FAILED",
                              "CUDA_ERROR_INFERENCE_FAILED", "CUDA_ERROR_INVALID_PARAMETER",
                              "CUDA_ERROR_KERNEL_LAUNCH_FAILED", "CUDA_ERROR_VRAM_RESIDENCY_FAILED",
                              "CUDA_ERROR_DEVICE_NOT_FOUND"}
    assert _files(conflicts["CUDA_ERROR_INVALID_PARAMETER"]) == ["worker_errors.h:22", "worker_cuda.h:31"]
    assert "5 at" in conflicts["CUDA_ERROR_INVALID_PARAMETER"].message
    twice = _by(findings, "AUDIT-declared-twice")
    assert "CudaErrorCode" in twice and "cuda_init" in twice


def test_d2_global_null_rule_against_per_function_rules(findings: list[Finding]) -> None:
    conflicts = _by(findings, "AUDIT-null-rule-conflict")
    assert "cuda_load_model.model_path" in conflicts and "cuda_init.error_code" in conflicts
    assert "token_index" not in " ".join(conflicts)   # documented "may be NULL": no conflict
    assert _files(conflicts["cuda_load_model.model_path"]) == ["worker_ffi.h:9", "worker_ffi.h:69"]
    channel = _by(findings, "AUDIT-error-channel-null")
    assert set(channel) == {"cuda_init"}


def test_d3_duplicate_function_is_an_undeclared_alias(findings: list[Finding]) -> None:
    alias = _by(findings, "AUDIT-undeclared-alias")
    assert set(alias) == {"cuda_model_get_vram_usage, cuda_get_vram_usage"}


def test_d4_functions_that_can_fail_without_an_error_channel(findings: list[Finding]) -> None:
    assert {"cuda_get_device_count", "cuda_model_get_vram_usage", "cuda_get_vram_usage",
            "cuda_get_process_vram_usage"} <= set(_by(findings, "AUDIT-no-error-channel"))


def test_d5_ambiguous_and_undocumented_boolean_results(findings: list[Finding]) -> None:
    assert set(_by(findings, "AUDIT-bool-false-ambiguous")) == {"cuda_inference_next_token"}
    assert set(_by(findings, "AUDIT-bool-false-undocumented")) == {"cuda_check_vram_residency",
                                                                    "cuda_check_device_health"}


def test_d6_error_code_no_function_lists(findings: list[Finding]) -> None:
    unlisted = _by(findings, "AUDIT-error-unlisted")
    assert set(unlisted) == {"CUDA_ERROR_DEVICE_NOT_FOUND"}
    assert _files(unlisted["CUDA_ERROR_DEVICE_NOT_FOUND"]) == ["worker_errors.h:25", "worker_cuda.h:24"]


def test_d7_ranges_only_in_prose(findings: list[Finding]) -> None:
    assert set(_by(findings, "AUDIT-prose-range")) == {"cuda_inference_start.max_tokens",
                                                       "cuda_inference_start.temperature"}


def test_d8_thread_safety_claims_against_the_handle_types(findings: list[Finding]) -> None:
    conflicts = _by(findings, "AUDIT-thread-conflict")
    assert "cuda_check_device_health.ctx" in conflicts and "cuda_model_get_vram_usage.model" in conflicts
    assert any(w.file.endswith("worker_types.h") for w in conflicts["cuda_check_device_health.ctx"].where)


def test_d9_lock_claims_the_headers_contradict(findings: list[Finding]) -> None:
    claims = _by(findings, "AUDIT-enum-claim")
    assert set(claims) == {"CudaErrorCode"} and "from 8 to 99" in claims["CudaErrorCode"].message


def test_drifted_headers_conflicting_declarations_unknown_codes_and_documentation() -> None:
    found = audit(read_headers(["tests/fixtures/headers/misc/drift_a.h", "tests/fixtures/headers/misc/drift_b.h"]))
    assert {(f.rule, f.subject, tuple(_files(f))) for f in found} == {
        ("AUDIT-declaration-conflict", "drift_read", ("drift_a.h:22", "drift_b.h:4")),
        ("AUDIT-error-not-in-table", "drift_read: DRIFT_ERROR_TIMEOUT", ("drift_a.h:18", "drift_a.h:9")),
        ("AUDIT-undocumented", "drift_undocumented", ("drift_a.h:32",)),
        ("AUDIT-undeclared", "drift_sync", ("drift_a.h:25",)),
    }


def test_a_clean_header_has_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "tests/fixtures/headers/misc/clean.h"]) == 0
    assert "0 finding(s)" in capsys.readouterr().out


def test_generated_header_has_nothing_to_report() -> None:
    """The generator's header states every rule, including the waived error channels."""
    assert audit(read_headers(["native/include/worker_ffi.h"])) == []


def test_json_and_markdown_reports_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit.json"
    assert main(["audit", *HEADERS, "--format", "json", "--report-output", str(out)]) == 16
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["summary"]["findings"] == len(report["findings"]) > 0
    assert report["summary"]["by_rule"]["AUDIT-undeclared-alias"] == 1
    assert all(f["locations"] for f in report["findings"])
    assert main(["audit", *HEADERS, "--format", "markdown"]) == 16
    md = capsys.readouterr().out
    assert md.startswith("# Header audit:") and "| AUDIT-constant-conflict |" in md


def test_import_report_prints_the_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", *HEADERS, "-o", str(tmp_path / "d.yaml"), "--report"]) == 0
    assert "AUDIT-undeclared-alias" in capsys.readouterr().out
    assert main(["import", *HEADERS, "-o", str(tmp_path / "d.yaml"), "--report", "--fail-on-findings"]) == 16


def test_sqlite_audit_sees_configuration_and_not_shared_comments() -> None:
    """Functions documented under one shared comment are not aliases; a function compiled out
    by the configuration is documented but undeclared until -D enables it."""
    plain = {(f.rule, f.subject) for f in audit(read_headers(["/usr/include/sqlite3.h"]))}
    assert ("AUDIT-undeclared", "sqlite3_preupdate_hook") in plain
    assert not any(rule == "AUDIT-undeclared-alias" and "sqlite3_prepare," in subject for rule, subject in plain)
    enabled = {(f.rule, f.subject) for f in audit(read_headers(["/usr/include/sqlite3.h"], [],
                                                                ["SQLITE_ENABLE_PREUPDATE_HOOK"]))}
    assert ("AUDIT-undeclared", "sqlite3_preupdate_hook") not in enabled
