"""`ffispec import`: headers -> a draft spec with provenance. Round trip over the generated
header, the reconstructed original worker headers, real installed headers, bad input."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from generator.cli import main
from generator.headers.declarations import read_headers
from generator.headers.emit import to_yaml
from generator.headers.infer import infer
from generator.normalise import canonical, hashed_contract
from generator.problems import SpecError
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = "tests/fixtures/headers/worker_original"
MISC = "tests/fixtures/headers/misc"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spec paths (the header path is a contract field) are relative to the project root.
    monkeypatch.chdir(ROOT)


def _draft(tmp_path: Path, *headers: str, prefix: str | None = None) -> Path:
    out = tmp_path / "draft.yaml"
    out.write_text(to_yaml(infer(read_headers(list(headers)), prefix), []), encoding="utf-8")
    return out


def _differences(a: object, b: object, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]


# ------------------------------------------------------------------------ round trip
def test_importing_the_generated_header_gives_back_the_worker_contract(tmp_path: Path) -> None:
    original = load_spec("spec/worker_ffi.yaml")
    imported = load_spec(_draft(tmp_path, original.interface.header.path))   # lints clean
    diffs = _differences(hashed_contract(canonical(original)), hashed_contract(canonical(imported)))
    assert diffs == []
    assert imported.contract_hash == original.contract_hash
    assert imported.exceptions == tuple(
        type(e)(e.id, e.applies_to, e.rule, e.reason, imported.exceptions[i].location)
        for i, e in enumerate(original.exceptions))


ROUND_TRIP = [("tests/fixtures/headers/roundtrip/kv.yaml", ["tests/fixtures/headers/roundtrip/lib"]),
              *[(str(p.relative_to(ROOT)), []) for p in sorted(ROOT.glob("examples/*/spec/*.yaml"))]]


@pytest.mark.parametrize(("spec_path", "include_dirs"), ROUND_TRIP, ids=[Path(s).stem for s, _ in ROUND_TRIP])
def test_importing_a_generated_header_gives_back_its_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              spec_path: str, include_dirs: list[str]) -> None:
    """Status channels, codes and handles referenced from the library's own header, callback
    types, out-handles, preconditions: whatever the spec says, its header says, and importing
    the header gives it back."""
    from generator.render import ARTEFACTS, render_all

    original = load_spec(spec_path)
    header = original.interface.header.path
    text = render_all(original, {}, [a for a in ARTEFACTS if a.target(original) == header])[header]
    (tmp_path / header).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / header).write_text(text, encoding="utf-8")
    dirs = [str(ROOT / d) for d in include_dirs]
    monkeypatch.chdir(tmp_path)   # the header path is a contract field, relative to the root
    draft = tmp_path / "draft.yaml"
    draft.write_text(to_yaml(infer(read_headers([header], dirs)), []), encoding="utf-8")
    imported = load_spec(draft)
    assert _differences(hashed_contract(canonical(original)), hashed_contract(canonical(imported))) == []
    assert imported.contract_hash == original.contract_hash


def test_round_trip_notices_a_contract_change(tmp_path: Path) -> None:
    """The comparison above can fail: a header whose rule text changed imports differently."""
    header = Path("native/include/worker_ffi.h").read_text(encoding="utf-8")
    changed = header.replace("Rules: >= 1.", "Rules: >= 2.", 1)
    assert changed != header
    copy = tmp_path / "native/include/worker_ffi.h"
    copy.parent.mkdir(parents=True)
    copy.write_text(changed, encoding="utf-8")
    original = load_spec("spec/worker_ffi.yaml")
    imported = load_spec(_draft(tmp_path, str(copy)))
    diffs = _differences(hashed_contract(canonical(original)), hashed_contract(canonical(imported)))
    assert any(".range.min: 1 != 2" in d for d in diffs)


# -------------------------------------------------------------- the original headers
def test_original_worker_headers_import_with_provenance(tmp_path: Path) -> None:
    out = _draft(tmp_path, f"{ORIGINAL}/worker_ffi.h")
    text = out.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    names = [f["name"] for f in data["functions"]]
    assert len(names) == 17 and len(set(names)) == 17    # 14 locked + 3 added after the lock
    assert [h["name"] for h in data["handles"]] == ["CudaContext", "CudaModel", "InferenceResult"]
    assert {h["name"]: (h["created_by"], h["destroyed_by"], h.get("parent")) for h in data["handles"]} == {
        "CudaContext": ("cuda_init", "cuda_destroy", None),
        "CudaModel": ("cuda_load_model", "cuda_unload_model", "CudaContext"),
        "InferenceResult": ("cuda_inference_start", "cuda_inference_free", "CudaModel"),
    }
    codes = {c["name"]: (c["value"], c["key"]) for c in data["errors"]["codes"]}
    assert codes["CUDA_ERROR_DEVICE_NOT_FOUND"] == (8, "DEVICE_NOT_FOUND") and codes["CUDA_SUCCESS"][0] == 0
    assert data["interface"]["error_out_param"] == "error_code"
    # The generated header will include the original: neither its path nor its guard may clash.
    assert data["interface"]["header"] == {"path": "include/worker_spec.h", "guard": "WORKER_SPEC_H",
                                           "api_macro": "WORKER_SPEC_API", "includes": ["worker_ffi.h"]}
    fn = {f["name"]: f for f in data["functions"]}
    start = {p["name"]: p for p in fn["cuda_inference_start"]["params"]}
    assert start["max_tokens"]["range"] == {"min": 1, "max": 2048}
    assert start["temperature"]["range"] == {"min": 0.0, "max": 2.0}
    assert fn["cuda_inference_start"]["errors"] == ["OUT_OF_MEMORY", "INVALID_PARAMETER", "INFERENCE_FAILED",
                                                    "UNKNOWN"]
    assert fn["cuda_init"]["returns"]["on_error"] == "NULL"
    assert fn["cuda_error_message"]["returns"]["ownership"] == "static"
    token_out = fn["cuda_inference_next_token"]["params"][1]
    assert (token_out["direction"], token_out["len"], token_out["capacity"]) == ("out", "token_buffer_size", 256)
    # Every guess says where it came from: header:line and the words.
    assert re.search(r"# tests/fixtures/headers/worker_original/worker_ffi\.h:\d+: range stated in prose: "
                     r".*\(1-2048\)", text)
    assert re.search(r"# tests/fixtures/headers/worker_original/worker_types\.h:\d+: .*NOT thread-safe", text)
    assert "what `false` means is not stated (`false_means`) — decide" in text


def test_original_draft_lints_with_exactly_the_decisions(tmp_path: Path) -> None:
    """What the headers leave open is left out of the draft, so the spec's own lints ask for
    exactly those decisions, each one a defect of the original interface."""
    with pytest.raises(SpecError) as exc:
        load_spec(_draft(tmp_path, f"{ORIGINAL}/worker_ffi.h"))
    asked: dict[str, set[str]] = {}
    for p in exc.value.problems:
        m = re.match(r"functions\[\d+\]|errors\.codes\[\d+\]", p.dotted_path)
        asked.setdefault(p.rule, set()).add(m.group(0) if m else p.dotted_path)
    names = {f"functions[{i}]": f["name"] for i, f in enumerate(yaml.safe_load(
        (tmp_path / "draft.yaml").read_text(encoding="utf-8"))["functions"])}
    asked = {rule: {names.get(x, x) for x in where} for rule, where in asked.items()}
    assert asked == {
        # D5: what false means, and what a failing bool call returns
        "LINT-bool-ambiguous": {"cuda_inference_next_token", "cuda_check_vram_residency", "cuda_check_device_health"},
        "LINT-on-error-missing": {"cuda_inference_next_token", "cuda_check_vram_residency", "cuda_check_device_health"},
        # D2: "must not be NULL" on the error channel, where the spec language wants it tolerated
        "LINT-error-param-shape": {"cuda_init", "cuda_load_model", "cuda_inference_start",
                                   "cuda_inference_next_token", "cuda_check_vram_residency",
                                   "cuda_check_device_health"},
        # D6: a code nobody lists, a fallible call without UNKNOWN
        "LINT-unused-error": {"errors.codes[8]"},
        "LINT-missing-unknown": {"cuda_inference_next_token"},
        # D3: the duplicate getter
        "LINT-unmarked-alias": {"cuda_get_vram_usage"},
        # D7: the prose range became a field; whether NaN is rejected is not stated
        "LINT-range-type": {"cuda_inference_start"},
        # when out-parameters are written is never stated
        "LINT-out-written": {"cuda_load_model", "cuda_inference_next_token"},
        # the post-lock raw memory functions: void* cannot cross the Python bindings
        "LINT-target-unsupported": {"cuda_memcpy_host_to_device", "cuda_free_memory"},
    }


# ------------------------------------------------------------------- real headers
def _declared(header: str) -> set[str]:
    """Functions the compiler itself says the header declares (gcc -aux-info): an oracle
    independent of pycparser."""
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed for the -aux-info oracle"
    src = Path(header).resolve()
    proc = subprocess.run([gcc, "-fsyntax-only", "-aux-info", "/dev/stdout", "-x", "c", "-include", str(src),
                           "/dev/null"], capture_output=True, text=True, check=True)
    names = set()
    for line in proc.stdout.splitlines():
        m = re.match(r"/\* (\S+):\d+:\S+ \*/ .*?(\w+) \(", line)
        if m and Path(m.group(1)).resolve() == src:
            names.add(m.group(2))
    return names


REAL = ["/usr/include/sqlite3.h", "/usr/include/zlib.h", "/usr/include/lz4.h"]


@pytest.mark.parametrize("header", REAL, ids=[Path(h).name for h in REAL])
def test_real_headers_import_every_function(tmp_path: Path, header: str) -> None:
    if not Path(header).exists():
        pytest.fail(f"{header} is missing: `nox -s tests` installs libsqlite3-dev, zlib1g-dev and liblz4-dev")
    hs = read_headers([header])
    draft = infer(hs)
    imported = {f["name"] for f in draft.data["functions"]}
    skipped = {s.name for s in hs.skipped if s.kind == "variadic function"}
    declared = _declared(header)
    assert len(declared) > 30
    assert declared == imported | skipped
    assert not imported & skipped
    text = to_yaml(draft, [])
    assert yaml.safe_load(text)["functions"]


def test_sqlite_import_finds_its_handles_and_error_table() -> None:
    hs = read_headers(["/usr/include/sqlite3.h"])
    data = infer(hs).data
    handles = {h["name"]: (h["created_by"], h["destroyed_by"]) for h in data["handles"]}
    assert handles["sqlite3"][1] in ("sqlite3_close", "sqlite3_close_v2")
    assert handles["sqlite3_stmt"][1] == "sqlite3_finalize"
    codes = {c["name"]: c["value"] for c in data["errors"]["codes"]}
    assert codes["SQLITE_OK"] == 0 and codes["SQLITE_BUSY"] == 5 and codes["SQLITE_DONE"] == 101
    assert data["interface"]["version"].startswith("3.")
    # SQLite returns its codes: a status channel, and functions returning no code have none.
    assert data["interface"]["error_channel"] == {"kind": "status", "success": ["OK"]}
    fn = {f["name"]: f for f in data["functions"]}
    assert "BUSY" in fn["sqlite3_close"]["errors"] and "error_channel" not in fn["sqlite3_close"]
    assert fn["sqlite3_libversion"]["error_channel"] == {"kind": "none"}
    # The draft describes the existing library: its own header is included, never overwritten.
    assert data["targets"]["mode"] == "existing_library"
    assert data["interface"]["header"]["path"] == "include/sqlite3_ffi.h"
    assert data["interface"]["header"]["includes"] == ["sqlite3.h"]
    # Function pointers name callback types: the header's typedef where one has the signature.
    assert fn["sqlite3_bind_text"]["params"][4] == {"name": "arg4", "type": "sqlite3_destructor_type",
                                                    "direction": "in"}
    types = {t["name"]: t for t in data["types"]}
    assert types["sqlite3_destructor_type"] == {"name": "sqlite3_destructor_type", "kind": "callback",
                                                "returns": "void", "params": ["void*"],
                                                "doc": "A callback of sqlite3_bind_blob.", "header": "sqlite3.h"}


# ----------------------------------------------------------------------- bad input
def test_header_that_does_not_parse_gives_the_location_and_exit_2(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", f"{MISC}/broken.h", "-o", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{MISC}/broken.h:4:" in err and "HDR-parse" in err and "Traceback" not in err
    assert not (tmp_path / "x.yaml").exists()


def test_header_that_does_not_preprocess_gives_the_compilers_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", f"{MISC}/missing_include.h"]) == 2
    err = capsys.readouterr().err
    assert f"{MISC}/missing_include.h:2:" in err and "does_not_exist.h" in err and "Traceback" not in err


def test_missing_header_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "no/such/header.h"]) == 2
    assert "no/such/header.h: error[HDR-io]: header not found" in capsys.readouterr().err


def test_unknown_constructs_are_listed_as_skipped_with_their_location(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.yaml"
    assert main(["import", f"{MISC}/constructs.h", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for kind, name, line in [("function-like macro", "DEMO_MAX", 6), ("bit-field", "demo_flags.ready", 11),
                             ("bit-field", "demo_flags.busy", 12), ("variadic function", "demo_printf", 16),
                             ("struct definition", "demo_flags", 10)]:
        assert f"skipped {kind} {name} at {MISC}/constructs.h:{line}:" in text
    data = yaml.safe_load(text)
    assert [f["name"] for f in data["functions"]] == ["demo_count"]
    assert "5 construct(s) skipped" in capsys.readouterr().out


def test_integer_defines_are_evaluated_through_other_macros() -> None:
    hs = read_headers([f"{MISC}/constructs.h"])
    assert {c.name: c.value for c in hs.constants} == {"DEMO_LIMIT": 64, "DEMO_MASK": 63}


# ---------------------------------------------------------------------- YAML output
@given(st.text())
def test_any_text_reaches_the_draft_as_the_same_yaml_string(text: str) -> None:
    from generator.headers.emit import scalar

    assert yaml.safe_load(f"key: {scalar(text)}")["key"] == text
