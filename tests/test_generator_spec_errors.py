"""Broken specs: every problem is reported at once, with its rule ID and the line it is on.

The schema's and loader's findings (SPEC-*) have their cases here; every lint rule (LINT-*)
has its broken-spec cases in tests/test_lint_rules.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generator.problems import SpecError
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC_TEXT = (ROOT / "spec" / "worker_ffi.yaml").read_text(encoding="utf-8")
VERSION = load_spec(ROOT / "spec" / "worker_ffi.yaml").interface.version


def _mutate(old: str, new: str) -> str:
    assert SPEC_TEXT.count(old) == 1, f"fixture text must be unique: {old!r}"
    return SPEC_TEXT.replace(old, new)


def _line_of(text: str, needle: str) -> int:
    idx = text.index(needle)
    return text.count("\n", 0, idx) + 1


# (case id, old text, new text, expected rule, text on the expected line)
CASES = [
    ("unknown-key", "  - name: cuda_destroy\n    group: context",
     "  - name: cuda_destroy\n    grup: context\n    group: context", "SPEC-unknown-key", "grup: context"),
    ("wrong-type", "    - {name: CUDA_ERROR_CANCELLED, value: 9,", "    - {name: CUDA_ERROR_CANCELLED, value: nine,",
     "SPEC-wrong-type", "value: nine"),
    ("bad-enum", "    thread_safety: {class: externally_synchronized, sync_on: [ctx]}\n\n  - name: cuda_get_device_count",
     "    thread_safety: {class: extern_sync, sync_on: [ctx]}\n\n  - name: cuda_get_device_count",
     "SPEC-invalid-value", "class: extern_sync"),
    ("missing-key", "    doc: Number of usable devices.\n", "", "SPEC-missing-key", "- name: cuda_get_device_count"),
    ("bad-version", f"  version: {VERSION}\n  c_prefix", f"  version: {VERSION}.1\n  c_prefix",
     "SPEC-invalid-value", f"version: {VERSION}.1"),
    ("duplicate-yaml-key", "    since: 1.0.0\n    doc: Destroy a context", "    since: 1.0.0\n    since: 1.0.0\n    doc: Destroy a context",
     "SPEC-duplicate-key", "since: 1.0.0\n    doc: Destroy a context"),
    ("output-path-escapes", "    path: native/include/worker_ffi.h", "    path: ../../outside.h",
     "SPEC-output-path", "path: ../../outside.h"),
    ("trailing-newline", f"  version: {VERSION}\n  c_prefix", f"  version: \"{VERSION}\\n\"\n  c_prefix",
     "SPEC-invalid-value", f"version: \"{VERSION}"),
    ("version-as-float", f"  version: {VERSION}\n  c_prefix", "  version: 1.0\n  c_prefix",
     "SPEC-wrong-type", "version: 1.0\n"),
    ("since-a-word", "    since: 1.0.0\n    doc: Destroy a context", "    since: one\n    doc: Destroy a context",
     "SPEC-invalid-value", "since: one\n    doc: Destroy a context"),
    ("range-bound-string", "range: {min: 1, max: 2048},", "range: {min: \"1\", max: [2048]},",
     "SPEC-wrong-type", "name: max_tokens"),
    ("nan-bound", "range: {min: 1, max: 2048},", "range: {min: .nan, max: 2048},",
     "SPEC-invalid-value", "name: max_tokens"),
    ("control-character", "    doc: Destroy a context, its models", "    doc: \"Destroy\\0\" # a context, its models",
     "SPEC-control-character", "doc: \"Destroy"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_broken_spec_reports_rule_and_line(tmp_path: Path, case: tuple[str, str, str, str, str]) -> None:
    _, old, new, rule, line_text = case
    text = _mutate(old, new)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    found = {(p.rule, p.location.line) for p in info.value.problems}
    expected_line = _line_of(text, line_text)
    assert (rule, expected_line) in found, info.value.render()
    for p in info.value.problems:
        assert p.location.file == str(path)
        assert p.hint, f"{p.rule} has no fix hint"


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(_mutate("  - name: cuda_destroy\n    group: context",
                            "  - name: cuda_destroy\n    grup: context"), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    hints = [p.hint for p in info.value.problems if p.rule == "SPEC-unknown-key"]
    assert hints == ["did you mean 'group'?"]


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = _mutate("range: {min: 1, max: 2048},", "range: {min: 4096, max: 2048},")
    text = text.replace("    parent: CudaContext\n", "    parent: CudaCtx\n")
    path = tmp_path / "two.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    rules = {p.rule for p in info.value.problems}
    assert {"LINT-range-empty", "LINT-dangling-reference"} <= rules


def test_invalid_yaml_points_at_the_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("spec_format: 1\ninterface: {name: x\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (problem,) = info.value.problems
    assert problem.rule == "SPEC-yaml"
    assert problem.location.line >= 2


def test_exception_waives_one_rule_for_named_functions(tmp_path: Path) -> None:
    text = _mutate("    applies_to: [cuda_model_get_vram_usage, cuda_get_vram_usage, cuda_get_process_vram_usage]",
                   "    applies_to: [cuda_model_get_vram_usage, cuda_get_vram_usage]")
    path = tmp_path / "waiver.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    spec_functions = [line.split("name: ")[1] for line in text.splitlines()
                      if line.startswith("  - name: cuda_")]
    index = spec_functions.index("cuda_get_process_vram_usage")
    assert [(p.rule, p.path[:2]) for p in info.value.problems] == [
        ("LINT-fallible-needs-error-channel", ("functions", index))]


@pytest.mark.parametrize("content, rule", [(None, "SPEC-io"), ("", "SPEC-yaml"), (": : :\n", "SPEC-yaml")])
def test_cli_reports_bad_input_with_exit_2_and_no_traceback(tmp_path: Path, content: str | None,
                                                            rule: str) -> None:
    path = tmp_path / "spec.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "generator", "check", "--spec", str(path),
                           "--root", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"error[{rule}]" in proc.stderr
    assert str(path) in proc.stderr


def test_schema_and_lint_problems_are_reported_together(tmp_path: Path) -> None:
    text = _mutate("thread_safety: {class: safe}\n\n  - name: cuda_destroy",
                   "thread_safety: {class: saf}\n\n  - name: cuda_destroy")
    text = text.replace("errors: [INVALID_PARAMETER, MODEL_LOAD_FAILED,", "errors: [INVALID_PARAMETER, MODEL_LOAD_FALED,")
    path = tmp_path / "both.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    found = {(p.rule, p.location.line) for p in info.value.problems}
    assert ("SPEC-invalid-value", _line_of(text, "class: saf}")) in found
    assert ("LINT-unknown-error", _line_of(text, "MODEL_LOAD_FALED")) in found
