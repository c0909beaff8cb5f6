"""Mode "describe an existing library": the header generated from the SQLite spec sits in one
translation unit with the system <sqlite3.h>, as C and C++, warnings as errors; it references
the library's own types and codes instead of re-emitting them; a wrong declaration in the spec
is refused by lint and, were it rendered, caught by the compiler."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLE, REPO

from generator.cli import main as ffispec
from generator.lints.declared import unchecked_note
from generator.loader import load_raw
from generator.render import render_header
from generator.spec import load_spec, review_raw

SPEC_PATH = EXAMPLE / "spec" / "sqlite3.yaml"
SPEC = load_spec(SPEC_PATH)
HEADER = EXAMPLE / SPEC.interface.header.path
FLAGS = ["-Wall", "-Wextra", "-Werror", "-pedantic"]


def _compile(tmp_path: Path, header: Path, compiler: str, std: str,
             generated_first: bool) -> subprocess.CompletedProcess[str]:
    if shutil.which(compiler) is None:
        pytest.fail(f"{compiler} is required to test the generated header")
    ext = "c" if compiler == "gcc" else "cpp"
    includes = [f'#include "{header}"', "#include <sqlite3.h>"]
    if not generated_first:
        includes.reverse()
    uses = "\n".join(f"    (void)&{fn.name};" for fn in SPEC.functions)
    src = tmp_path / f"use.{ext}"
    src.write_text("\n".join(includes) + f"\nint main(void) {{\n{uses}\n    return SQLITE_OK;\n}}\n")
    return subprocess.run([compiler, f"-std={std}", *FLAGS, "-c", str(src), "-o", str(tmp_path / "use.o")],
                          capture_output=True, text=True)


@pytest.mark.parametrize("generated_first", [True, False], ids=["generated-first", "sqlite3.h-first"])
@pytest.mark.parametrize("compiler, std", [("gcc", "c11"), ("g++", "c++17")])
def test_header_compiles_in_one_unit_with_sqlite3_h(tmp_path: Path, compiler: str, std: str,
                                                     generated_first: bool) -> None:
    proc = _compile(tmp_path, HEADER, compiler, std, generated_first)
    assert proc.returncode == 0, proc.stderr


def test_a_declaration_that_differs_from_sqlite3_h_is_refused_then_does_not_compile(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The check above can fail: one wrong parameter type in the spec is refused by lint, naming
    the line of <sqlite3.h>; and the header rendered regardless breaks the C build."""
    text = SPEC_PATH.read_text().replace(
        '{name: value, type: double, direction: in, doc: "The value."}',
        '{name: value, type: float, direction: in, doc: "The value."}')
    assert text != SPEC_PATH.read_text()
    spec = tmp_path / "spec" / "sqlite3.yaml"
    spec.parent.mkdir()
    spec.write_text(text)
    unchecked = unchecked_note(SPEC)
    if unchecked is not None:
        pytest.fail(f"the lint cannot read <sqlite3.h> here: {unchecked}")
    assert ffispec(["generate", "--spec", str(spec), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "LINT-declaration-conflict" in err and "sqlite3_bind_double" in err
    assert "sqlite3.h:" in err and not (tmp_path / SPEC.interface.header.path).exists()
    header = tmp_path / "wrong.h"
    model, findings = review_raw(load_raw(spec))
    assert [f.rule for f in findings] == ["LINT-declaration-conflict"]
    header.write_text(render_header(model))
    proc = _compile(tmp_path, header, "gcc", "c11", True)
    assert proc.returncode != 0
    assert "sqlite3_bind_double" in proc.stderr and "conflicting types" in proc.stderr


def test_existing_types_and_codes_are_referenced_not_redeclared() -> None:
    text = HEADER.read_text()
    assert "#include <sqlite3.h>" in text
    # Declarations only: comments may quote the library's typedefs.
    code = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("*", "/*", "//"))]
    assert not [ln for ln in code if ln.startswith("typedef")], code
    assert not [ln for ln in code if ln.startswith("#define SQLITE_")]
    assert "typedef struct sqlite3 sqlite3;" in text  # documented where it comes from
    # No standard header is needed: every type comes from <sqlite3.h>.
    assert "#include <stdint.h>" not in text


def test_artefacts_and_lock_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert ffispec(["check", "--spec", str(SPEC_PATH), "--root", str(EXAMPLE)]) == 0
    assert ffispec(["verify-lock", "--spec", str(SPEC_PATH), "--root", str(EXAMPLE)]) == 0
    assert "LOCK HOLDS: sqlite3_subset 1.0.0" in capsys.readouterr().out


def test_the_model_reads_the_spec_as_written() -> None:
    step = SPEC.function("sqlite3_step")
    assert step.channel.kind == "status" and step.channel.success_values == (100, 101)
    assert SPEC.function("sqlite3_bind_int64").channel.success_values == (0,)
    opened = SPEC.function("sqlite3_open_v2")
    assert opened.created_out is not None and opened.created_out.on_failure == "valid"
    assert opened.channel.detail_from == "sqlite3_errmsg" and opened.channel.scope == "handle"
    assert SPEC.detail_hops(step) == 1  # the statement's connection holds the text
    index = SPEC.function("sqlite3_bind_int64").param("index")
    assert index.checked and index.on_violation == "RANGE"
    column = SPEC.function("sqlite3_column_int64").param("iCol")
    assert column.precondition and not column.checked
    assert SPEC.function("sqlite3_column_int64").returns.ctype.int_limits == (-(2**63), 2**63 - 1)
    assert REPO.joinpath("generator").is_dir()
