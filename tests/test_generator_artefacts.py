"""The generated artefacts themselves: the header compiles everywhere it must, the cdef says
exactly what the model says, generation is deterministic and touches nothing unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pycparser
import pytest
from pycparser import c_ast, c_generator

from generator.cli import main as ffispec
from generator.lock.state import lock_state
from generator.render import rendered_artefacts
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = load_spec(ROOT / "spec" / "worker_ffi.yaml")
HEADER = ROOT / SPEC.interface.header.path

COMPILERS = [("gcc", "c", "c99"), ("gcc", "c", "c11"), ("g++", "c++", "c++17")]


@pytest.mark.parametrize("compiler, lang, std", COMPILERS)
@pytest.mark.parametrize("times", [1, 2])
def test_header_compiles_with_warnings_as_errors(tmp_path: Path, compiler: str, lang: str,
                                                 std: str, times: int) -> None:
    if shutil.which(compiler) is None:
        pytest.fail(f"{compiler} is required to test the generated header")
    src = tmp_path / ("use.c" if lang == "c" else "use.cpp")
    includes = "\n".join(f'#include "{HEADER}"' for _ in range(times))
    # Take the address of every function so a declaration typo cannot hide.
    uses = "\n".join(f"    (void)&{fn.name};" for fn in SPEC.functions if not fn.deprecated)
    src.write_text(f"{includes}\nint main(void) {{\n{uses}\n    return CUDA_SUCCESS;\n}}\n")
    proc = subprocess.run([compiler, f"-std={std}", "-Wall", "-Wextra", "-Werror", "-pedantic",
                           "-c", str(src), "-o", str(tmp_path / "use.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _cdef_ast() -> c_ast.FileAST:
    text = (ROOT / "worker_ffi" / "_cdef.h").read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    # The banner is a C comment and the body has // comments; pycparser wants neither.
    body = "\n".join(ln for ln in lines if not ln.lstrip().startswith("//"))
    body = body.split("*/", 1)[1]
    # cffi knows the standard integer types and bool; pycparser needs them spelled out.
    prelude = "typedef unsigned long long uint64_t; typedef unsigned int uint32_t; typedef _Bool bool;\n"
    ast = pycparser.CParser().parse(prelude + body, "_cdef.h")
    ast.ext = ast.ext[3:]
    return ast


def test_cdef_declares_exactly_the_models_functions_types_and_enum_values() -> None:
    ast = _cdef_ast()
    functions, typedefs, enum_values = {}, set(), {}
    for node in ast.ext:
        if isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl):
            functions[node.name] = node
        elif isinstance(node, c_ast.Typedef):
            typedefs.add(node.name)
            if isinstance(node.type.type, c_ast.Enum):
                for e in node.type.type.values.enumerators:
                    enum_values[e.name] = int(e.value.value)
    assert set(functions) == {fn.name for fn in SPEC.functions}
    assert typedefs == {SPEC.errors.enum, *(h.name for h in SPEC.handles)}
    assert enum_values == {c.name: c.value for c in SPEC.errors.codes}
    render = c_generator.CGenerator()
    for fn in SPEC.functions:
        decl = functions[fn.name].type
        got = [render.visit(p.type).replace(" *", "*") for p in decl.args.params]
        assert got == ([p.ctype.c for p in fn.params] or ["void"]), fn.name
        assert render.visit(decl.type).replace(" *", "*") == fn.returns.ctype.c, fn.name


def test_generate_is_deterministic_and_touches_only_changed_files(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    os.chdir(tmp_path)
    try:
        assert ffispec(["generate", "--root", "."]) == 0
        first = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        stamps = {p: p.stat().st_mtime_ns for p in first}
        assert ffispec(["generate", "--root", "."]) == 0
        second = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        assert first == second
        assert {p: p.stat().st_mtime_ns for p in second} == stamps
        assert ffispec(["check", "--root", "."]) == 0
        header = tmp_path / SPEC.interface.header.path
        header.write_text(header.read_text() + "/* hand edit */\n")
        assert ffispec(["check", "--root", "."]) & 4
    finally:
        os.chdir(ROOT)


def test_every_artefact_has_a_banner_with_the_spec_hash() -> None:
    for rel, text in rendered_artefacts(SPEC, lock_state(SPEC, ROOT)).items():
        if rel.endswith(".json"):
            continue
        head = text[:600]
        assert SPEC.sha256 in head, rel
        assert "ffispec generate" in head, rel


def test_committed_artefacts_are_current() -> None:
    proc = subprocess.run([sys.executable, "-m", "generator", "check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lock_document_lists_every_function_handle_and_code() -> None:
    doc = (ROOT / "coordination" / "FFI_INTERFACE_LOCKED.md").read_text()
    for fn in SPEC.functions:
        assert f"### {fn.name}\n" in doc
    for h in SPEC.handles:
        assert f"| `{h.name}` |" in doc
    for c in SPEC.errors.codes:
        assert f"| {c.value} | `{c.name}` | `{c.key}` |" in doc
    assert SPEC.contract_hash in doc


def test_contract_hash_ignores_documentation_but_not_rules(tmp_path: Path) -> None:
    text = (ROOT / "spec" / "worker_ffi.yaml").read_text()
    doc_only = tmp_path / "doc.yaml"
    doc_only.write_text(text.replace("doc: Number of usable devices.", "doc: How many devices."))
    rule = tmp_path / "rule.yaml"
    rule.write_text(text.replace("range: {min: 1, max: 2048}", "range: {min: 1, max: 1024}"))
    assert load_spec(doc_only).contract_hash == SPEC.contract_hash
    assert load_spec(rule).contract_hash != SPEC.contract_hash
