"""Every text of a spec reaches the artefacts escaped for their language. The filters are
checked against the languages themselves (a C program prints the literals back, Python
evaluates its own), then a spec whose every free-text field is hostile is rendered,
compiled as C and C++ with warnings as errors, its exports compiled against the native core,
and its bindings imported: nothing runs, nothing is declared, no file appears."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_harness import MARKER, PAYLOADS, ROOT, SPECS, compile_exports, compile_header

from generator import escape
from generator.loader import parse_text, schema, validate_schema
from generator.lock.state import LockState, view_of
from generator.normalise import normalise
from generator.render import rendered_artefacts

HOSTILE = PAYLOADS + ["", "plain", "\\", '"', "*/", "/*", '"""', "'''", "\n", "{{ x }}", "\x00",
                      "??/", "???", "end\"", "<!-- x", "a|b", "`", "\u202e", "\ud800"]


# ---------------------------------------------------------------------------- filters

def test_c_string_literals_round_trip_through_a_c_compiler(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required to test C string escaping")
    texts = [t for t in HOSTILE if "\x00" not in t and "\ud800" not in t]
    body = "\n".join(f"    fputs({escape.c_string(t)}, stdout); putchar(0);" for t in texts)
    src = tmp_path / "echo.c"
    src.write_text(f"#include <stdio.h>\nint main(void) {{\n{body}\n    return 0;\n}}\n",
                   encoding="utf-8")
    exe = tmp_path / "echo"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", str(src),
                    "-o", str(exe)], check=True, capture_output=True, text=True)
    printed = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    assert printed.split(b"\x00")[:-1] == [t.encode("utf-8") for t in texts]


@pytest.mark.parametrize("text", HOSTILE)
def test_python_literals_and_docstrings_hold_any_text(text: str) -> None:
    assert eval(escape.py_string(text)) == text  # noqa: S307 - evaluating our own literal
    assert json.loads(escape.json_string(text)) == text
    if "\ud800" not in text:
        assert tomllib.loads(f"x = {escape.toml_string(text)}")["x"] == text
    doc = eval('"""' + escape.py_docstring(text) + '"""')  # noqa: S307
    assert doc == escape.visible(text)
    assert "\n" not in escape.py_comment(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_comments_cannot_be_closed_or_split(text: str) -> None:
    c = escape.c_comment(text)
    assert "*/" not in c and "/*" not in c and "??" not in c and "\n" not in c
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\ud800-\udfff]", c)
    wrapped = escape.c_doc(text * 20, 40, " * ")
    assert all(line.startswith(" * ") for line in wrapped.splitlines())
    rust = escape.rust_doc(text * 20, width=40)
    assert all(line.startswith("///") for line in rust.split("\n")) and "\r" not in rust
    md = escape.md(text)
    assert "\n" not in md and not re.search(r"(?<!\\)\|", md) and "<!" not in md


# ----------------------------------------------------------------- a hostile spec

def _one(artefacts: dict[str, str], suffix: str) -> str:
    (rel,) = [rel for rel in artefacts if rel.endswith(suffix)]
    return rel


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {**schema()["$defs"][node["$ref"].rsplit("/", 1)[1]],
                **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def free_text_paths(data: Any, node: dict[str, Any] | None = None,
                    path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every string of `data` whose schema takes any text (no pattern, enum or const), except
    `on_error`, which is C source checked by lint."""
    node = _resolve(node if node is not None else schema())
    if isinstance(data, dict):
        props = node.get("properties", {})
        for key, value in data.items():
            if key in props:
                yield from free_text_paths(value, props[key], (*path, key))
    elif isinstance(data, list) and "items" in node:
        for i, item in enumerate(data):
            yield from free_text_paths(item, node["items"], (*path, i))
    elif isinstance(data, str) and node.get("type") == "string" and not \
            ({"pattern", "enum", "const"} & node.keys()) and path[-1] != "on_error":
        yield path


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


# The loader refuses C0 controls and lone surrogates in any text (SPEC-control-character); the
# rest, C1 controls and bidirectional overrides included, reaches the templates.
ACCEPTED = [re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", p) + " c1\x9b\x85" for p in PAYLOADS]


def hostile_text(spec_file: Path) -> tuple[str, int]:
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    data.setdefault("targets", {})["rust"] = {"enabled": True}  # every artefact, Rust included
    paths = list(free_text_paths(data))
    for i, path in enumerate(paths):
        _set(data, path, f"{path[-1]} {i}: " + " ".join(ACCEPTED))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True), len(paths)


@pytest.fixture(scope="module", params=sorted(SPECS))
def hostile(request: pytest.FixtureRequest) -> tuple[str, dict[str, str], str]:
    text, count = hostile_text(SPECS[request.param])
    assert count > 50, "the schema walk found too few text fields"
    raw = parse_text(text, "hostile.yaml")
    assert validate_schema(raw) == []
    # Straight to the model: the filters must hold even for texts lint refuses.
    spec = normalise(raw)
    return text, rendered_artefacts(spec, LockState(False, "hostile")), spec.interface.header.path


def test_every_free_text_field_carries_the_payload(
        hostile: tuple[str, dict[str, str], str]) -> None:
    _, artefacts, header = hostile
    for rel in (header, _one(artefacts, "/_generated.py"), _one(artefacts, ".md")):
        assert "INJECTED-BY-SPEC" in artefacts[rel], f"{rel} shows none of the hostile texts"


def test_hostile_header_compiles_as_c_and_cpp(hostile: tuple[str, dict[str, str], str],
                                              tmp_path: Path) -> None:
    _, artefacts, header = hostile
    assert compile_header(artefacts[header], tmp_path) == []
    assert not re.search(r"^\s*#\s*error", artefacts[header], re.M)


def test_hostile_exports_compile_against_the_native_core(
        hostile: tuple[str, dict[str, str], str], tmp_path: Path) -> None:
    _, artefacts, header = hostile
    if not any(rel.endswith("/ffi_exports.cpp") for rel in artefacts):
        return  # an existing library: no boundary is generated
    assert compile_exports(artefacts, header, tmp_path) == ""


def test_hostile_bindings_import_without_side_effects(
        hostile: tuple[str, dict[str, str], str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from spec_harness import _import_bindings

    # The generated module registers its error table on its own base class (ffispec_runtime
    # keeps no process-wide table), so importing it here leaves the real bindings alone.
    _, artefacts, _ = hostile
    monkeypatch.chdir(tmp_path)
    assert _import_bindings(artefacts[_one(artefacts, "/_generated.py")], tmp_path) == ""
    assert not (tmp_path / MARKER).exists()
    for rel in artefacts:
        if rel.endswith(".py"):
            compile(artefacts[rel], rel, "exec")


def test_hostile_rust_crate_compiles(hostile: tuple[str, dict[str, str], str],
                                     tmp_path: Path) -> None:
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed; `nox -s rust` reports that as an error")
    _, artefacts, _ = hostile
    cargo = next(p for p in artefacts if p.endswith("/Cargo.toml"))
    crate_dir = cargo.rsplit("/", 1)[0]
    crate = tmp_path / "crate"
    for rel, text in artefacts.items():
        if rel.startswith(crate_dir + "/"):
            target = crate / rel[len(crate_dir) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, "utf-8")
    assert "INJECTED-BY-SPEC" in (crate / "src" / "lib.rs").read_text("utf-8")
    env = {k: v for k, v in os.environ.items() if k != "WORKER_FFI_LIB_DIR"}
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")
    proc = subprocess.run(["cargo", "check", "--offline", "--quiet"], cwd=crate, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_hostile_lock_document_keeps_its_tables(
        hostile: tuple[str, dict[str, str], str]) -> None:
    _, artefacts, _ = hostile
    doc = artefacts[_one(artefacts, ".md")]
    body = doc.split("-->", 1)[1]
    assert "<!--" not in body and "<script" not in body.lower()
    width = 0
    for line in body.splitlines():
        if not line.startswith("|"):
            width = 0
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        if width == 0:
            width = cells
        assert cells == width, f"a table row changed shape: {line[:120]}"


def test_hostile_contract_view_survives_json(hostile: tuple[str, dict[str, str], str]) -> None:
    text, _, _ = hostile
    spec = normalise(parse_text(text, "hostile.yaml"))
    view = view_of(spec)
    assert json.loads(json.dumps(view, ensure_ascii=False)) == view


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\ud800"])
def test_control_characters_are_refused_with_their_location(char: str) -> None:
    from generator.problems import SpecError

    text = f'a: 1\nb: "doc \\u{ord(char):04x} end"\n'
    with pytest.raises(SpecError) as info:
        parse_text(text, "ctl.yaml")
    (problem,) = info.value.problems
    if char == "\ud800":  # the YAML reader itself refuses a lone surrogate escape
        assert problem.rule == "SPEC-yaml"
    else:
        assert problem.rule == "SPEC-control-character" and problem.location.line == 2
        assert f"U+{ord(char):04X}" in problem.message


def test_the_spec_files_exist() -> None:
    assert all(p.is_file() for p in SPECS.values())
    assert (ROOT / "spec" / "schema.json").is_file()
