"""The Rust renderer: text escaping for Rust source, and crates generated from specs other than
the committed one (no contract or detail roles, a function the safe layer cannot express,
hostile doc text) still compile. The committed worker crate itself is tested by `nox -s rust`
(cargo test against the host library)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.render import ARTEFACTS, render_all
from generator.rust import RustView
from generator.rust.text import camel, doc_lines, ident, snake, string_literal
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
RUST_ARTEFACTS = [a for a in ARTEFACTS if a.template and a.template.startswith("rust/")]
HOSTILE = 'a */ b """ c\n```rust\nfn main() { panic!() }\n```\r\n# Heading \x00 \\ "q" {{x}} 日本'


def test_doc_lines_cannot_open_a_code_block_or_break_out_of_the_comment() -> None:
    text = doc_lines(HOSTILE * 3, "    /// ", width=40)
    for line in text.splitlines():
        assert line.startswith("    ///")
        assert "```" not in line and "\r" not in line and "\x00" not in line
        body = line[len("    /// "):]
        assert not body.startswith(("# ", "- ", "1. ", "> ", " ")), line
    assert "\\u{0}" in text and "日本" in text


def test_doc_lines_escape_a_leading_block_marker_and_hang_list_items() -> None:
    assert doc_lines("# not a heading") == "/// \\# not a heading"
    assert doc_lines("12. not a list") == "/// 12\\. not a list"
    wrapped = doc_lines("- `p`: " + "word " * 40, hang="  ").splitlines()
    assert wrapped[0].startswith("/// - `p`") and all(w.startswith("///   ") for w in wrapped[1:])


@pytest.mark.parametrize("text, literal", [
    ('say "hi"', '"say \\"hi\\""'),
    ("a\\b", '"a\\\\b"'),
    ("line\nnext\r\t", '"line\\nnext\\r\\t"'),
    ("nul\x00", '"nul\\u{0}"'),
    ("日本", '"日本"'),
])
def test_string_literal_escapes_what_rust_strings_cannot_hold(text: str, literal: str) -> None:
    assert string_literal(text) == literal


def test_identifiers_and_names() -> None:
    assert ident("type") == "r#type" and ident("self") == "self_" and ident("model") == "model"
    assert camel("VRAM_OOM") == "VramOom" and camel("max_tokens") == "MaxTokens"
    assert snake("zSql") == "z_sql" and snake("ppDb") == "pp_db" and snake("type") == "r#type"


def test_worker_spec_placement_follows_the_model() -> None:
    rs = RustView(load_spec(ROOT / "spec" / "worker_ffi.yaml"))
    assert rs.crate_dir == "bindings/rust/worker_ffi"
    stream = {h.name: rs.stream(h.name) for h in rs.spec.handles}
    assert [h for h, m in stream.items() if m] == ["InferenceResult"]
    assert [m.fn.name for m in rs.remote_methods("InferenceResult")] == ["cuda_inference_cancel"]
    assert not any(rs.is_sync(h) for h in rs.spec.handles)  # all externally synchronised
    assert rs.raw_only == ()
    assert rs.has_contract_roles and rs.has_detail


def _variant_spec(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "spec" / "worker_ffi.yaml").read_text("utf-8"))
    for fn in data["functions"]:
        fn.pop("role", None)  # no contract check, no detail text
    # Without a detail role, the getters whose only failure signal is a 0 result (waived from
    # having an error_code) cannot say why they failed: a spec without roles has none of them.
    waived = set(data.pop("exceptions")[0]["applies_to"])
    data["functions"] = [fn for fn in data["functions"] if fn["name"] not in waived]
    hostile = HOSTILE.replace("\x00", "")  # the loader refuses C0 controls in a spec
    data["interface"]["doc"] = hostile
    data["errors"]["codes"][2]["message"] = 'Insufficient "VRAM" \\ {}'
    data["handles"][0]["doc"] = hostile
    data["handles"][0]["thread_safety"] = "safe"  # Send + Sync
    data["functions"].append({
        "name": "cuda_model_get_sizes", "group": "model", "since": "1.0.0", "doc": hostile,
        "params": [
            {"name": "model", "type": "CudaModel*", "direction": "in", "doc": "The model."},
            {"name": "sizes", "type": "uint64_t*", "direction": "out", "written": "on_success",
             "doc": "Receives a size."},
            {"name": "error_code", "type": "int*", "direction": "out", "nullable": True,
             "written": "always", "doc": "Receives the result code; may be NULL."},
        ],
        "returns": {"type": "void"}, "errors": ["INVALID_PARAMETER", "UNKNOWN"],
        "thread_safety": {"class": "safe"},
    })
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_a_crate_without_roles_with_a_raw_only_function_and_hostile_docs_compiles(
        tmp_path: Path) -> None:
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed; `nox -s rust` reports that as an error")
    spec = load_spec(_variant_spec(tmp_path))
    rs = RustView(spec)
    assert not rs.has_contract_roles and not rs.has_detail
    assert [f.name for f, _ in rs.raw_only] == ["cuda_model_get_sizes"]
    crate = tmp_path / "crate"
    for rel, text in render_all(spec, {}, RUST_ARTEFACTS).items():
        target = crate / Path(rel).relative_to(rs.crate_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    lib_rs = (crate / "src" / "lib.rs").read_text("utf-8")
    assert "```rust" not in lib_rs and "no contract_hash role" in lib_rs
    assert "- `cuda_model_get_sizes`: parameter `sizes`" in lib_rs
    assert "unsafe impl Sync for Context {}" in lib_rs and "unsafe impl Sync for Model" not in lib_rs
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    env.pop("WORKER_FFI_LIB_DIR", None)
    proc = subprocess.run(["cargo", "check", "--offline", "--quiet"], cwd=crate, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("rust, expected", [
    ({}, "bindings/rust/worker_ffi"),
    ({"crate": "orcd_sys", "dir": "crates/orcd"}, "crates/orcd"),
    ({"enabled": False}, None),
])
def test_the_rust_target_decides_whether_and_where_the_crate_is_written(
        tmp_path: Path, rust: dict[str, object], expected: str | None) -> None:
    data = yaml.safe_load((ROOT / "spec" / "worker_ffi.yaml").read_text("utf-8"))
    data.setdefault("targets", {})["rust"] = rust
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    spec = load_spec(path)
    paths = sorted(render_all(spec, {}, RUST_ARTEFACTS))
    if expected is None:
        assert paths == []
        return
    assert paths == sorted(f"{expected}/{f}" for f in
                           ("Cargo.toml", "build.rs", "src/lib.rs", "src/raw.rs", "src/error.rs"))
    cargo = render_all(spec, {}, RUST_ARTEFACTS)[f"{expected}/Cargo.toml"]
    assert f'name = "{rust.get("crate", "worker_ffi")}"' in cargo
