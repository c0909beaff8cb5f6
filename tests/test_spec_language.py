"""The spec language beyond the worker: C declarators, declared and referenced types, derived
includes, error channels, rule kinds, optional roles, and the findings (file:line, rule, hint,
exit 2) for features a target cannot render or a spec leaves undefined."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from generator.cli import main
from generator.model import CType
from generator.problems import SpecError
from generator.spec import load_spec

BASE = """\
spec_format: 1
interface:
  name: demo
  version: 1.0.0
  c_prefix: Demo
  doc: A small ABI in the library's own case.
  header: {path: include/demo.h, guard: DEMO_H, api_macro: DEMO_API}
  error_channel: {kind: status}
targets:
  mode: contract_first
  python: {enabled: false}
  cpp: {enabled: false}
groups:
  - {name: demo, title: Demo}
errors:
  enum: DemoStatus
  violation: BAD_ARGUMENT
  codes:
    - {name: DEMO_OK, value: 0, key: OK, message: "ok"}
    - {name: DEMO_MORE, value: 1, key: MORE, message: "more data", success: true}
    - {name: DEMO_BAD_ARGUMENT, value: -22, key: BAD_ARGUMENT, message: "bad argument"}
types:
  - {name: DemoMode, kind: enum, doc: "A mode.", values: [{value: 0, name: DEMO_FAST, doc: "Fast."},
                                                          {value: 1, name: DEMO_SAFE, doc: "Safe."}]}
  - {name: DemoPoint, kind: struct, doc: "A point.", fields: [{name: x, type: int32_t, doc: "x"},
                                                              {name: y, type: int32_t, doc: "y"}]}
  - {name: DemoSize, kind: alias, type: size_t, doc: "A size."}
  - {name: DemoCallback, kind: callback, returns: void, params: ["void*", "const char*"],
     doc: "Called with a message.", constants: [{value: 0, name: DEMO_NO_CALLBACK, doc: "None."}]}
functions:
  - name: DemoRead
    group: demo
    since: 1.0.0
    doc: Read up to a size.
    params:
      - {name: names, type: "const char* const*", direction: in, doc: "Names."}
      - {name: total, type: "unsigned long long", direction: in, range: {min: 1}, doc: "Total."}
      - {name: mode, type: DemoMode, direction: in, doc: "Mode."}
      - {name: flag, type: bool, direction: in, doc: "Flag."}
      - {name: size, type: DemoSize, direction: in, doc: "Size."}
      - {name: callback, type: DemoCallback, direction: in, fixed: DEMO_NO_CALLBACK, doc: "Callback."}
    returns: {type: int, doc: "A status."}
    error_channel: {success: [OK, MORE]}
    errors: [BAD_ARGUMENT]
    thread_safety: {class: safe}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec" / "demo.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[tuple[str, int, str, str]]:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    return [(p.rule, p.location.line, p.message, p.hint) for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def replace(old: str, new: str, base: str = BASE) -> str:
    assert base.count(old) == 1, old
    return base.replace(old, new)


NAMES = '      - {name: names, type: "const char* const*", direction: in, doc: "Names."}\n'
# With Python bindings: without the array of strings, which they cannot pass yet.
WITH_PYTHON = replace("python: {enabled: false}", "python: {package: demo_ffi}",
                      replace(NAMES, ""))


@pytest.mark.parametrize("text, base, levels, c", [
    ("const char* const*", "char", (True, False), "const char* const*"),
    ("sqlite3 **", "sqlite3", (False, False), "sqlite3**"),
    ("long unsigned int", "unsigned long", (), "unsigned long"),
    ("unsigned", "unsigned int", (), "unsigned int"),
    ("char * const", "char", (True,), "char* const"),
])
def test_declarators_parse_and_print_canonically(text: str, base: str, levels: tuple[bool, ...],
                                                 c: str) -> None:
    t = CType.parse(text)
    assert (t.base, t.levels, t.c) == (base, levels, c)
    assert CType.parse(t.c) == t


@pytest.mark.parametrize("text", ["int (*)(void)", "const const int", "int* volatile", "*"])
def test_unsupported_declarators_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a C type"):
        CType.parse(text)


def test_demo_spec_generates_a_header_that_compiles(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    assert main(["generate", "--spec", str(path), "--root", str(tmp_path)]) == 0
    header = (tmp_path / "include" / "demo.h").read_text()
    # Includes derived from the types: bool, size_t, int32_t.
    assert "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n" in header
    assert "typedef enum DemoMode {\n    DEMO_FAST = 0,\n    DEMO_SAFE = 1\n} DemoMode;" in header
    assert "typedef struct DemoPoint {\n    int32_t x;\n    int32_t y;\n} DemoPoint;" in header
    assert "typedef size_t DemoSize;" in header
    assert "typedef void (*DemoCallback)(void*, const char*);" in header
    assert "#define DEMO_NO_CALLBACK ((DemoCallback)0)" in header
    assert ("DEMO_API int DemoRead(const char* const* names, unsigned long long total, "
            "DemoMode mode, bool flag, DemoSize size, DemoCallback callback);") in header
    # The array of strings is for targets that can pass it: Python says it cannot, yet.
    found = problems(tmp_path, replace("python: {enabled: false}", "python: {package: demo_ffi}"))
    assert [(r, line) for r, line, _, _ in found] == [("LINT-target-unsupported",
                                                       line_of(BASE, "{name: names"))]
    assert "DEMO_BAD_ARGUMENT = -22" in header and "(not an error)" in header
    # No boundary in this target, and no role is required anywhere.
    assert not (tmp_path / "native").exists() and not (tmp_path / "demo_ffi").exists()
    assert main(["generate", "--spec", str(write(tmp_path, WITH_PYTHON)), "--root",
                 str(tmp_path / "py")]) == 0
    generated = (tmp_path / "py" / "demo_ffi" / "_generated.py").read_text()
    assert "def _read_detail" not in generated and "ROLES: Mapping[str, str] = MappingProxyType({\n})" in generated
    assert 'self._ffi.cast("DemoCallback", 0)' in generated and "if rc not in (0, 1):" in generated
    for compiler, std in (("gcc", "c11"), ("g++", "c++17")):
        if shutil.which(compiler) is None:
            pytest.fail(f"{compiler} is required")
        src = tmp_path / ("use.c" if compiler == "gcc" else "use.cpp")
        src.write_text('#include "demo.h"\nint main(void) { (void)&DemoRead; return DEMO_OK; }\n')
        proc = subprocess.run([compiler, f"-std={std}", "-Wall", "-Wextra", "-Werror", "-pedantic",
                               f"-I{tmp_path / 'include'}", "-c", str(src), "-o",
                               str(tmp_path / "use.o")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_a_callback_python_cannot_pass_is_a_finding_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = replace(", fixed: DEMO_NO_CALLBACK", "", WITH_PYTHON)
    found = problems(tmp_path, text)
    assert [(r, line) for r, line, _, _ in found] == [
        ("LINT-target-unsupported", line_of(text, "{name: callback"))]
    assert "callback" in found[0][2] and "fixed:" in found[0][3]
    assert main(["generate", "--spec", str(write(tmp_path, text)), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"demo.yaml:{line_of(text, '{name: callback')}:" in err and "Traceback" not in err
    # Without Python bindings the same spec is fine: the header can declare the callback.
    no_python = replace("python: {package: demo_ffi}", "python: {enabled: false}", text)
    assert main(["generate", "--spec", str(write(tmp_path, no_python)), "--root",
                 str(tmp_path / "out")]) == 0


@pytest.mark.parametrize("old, new, rule, where", [
    ("error_channel: {success: [OK, MORE]}", "error_channel: {success: [OK, BAD_ARGUMENT]}",
     "LINT-unknown-error", "error_channel: {success"),
    ("{name: DEMO_MORE, value: 1, key: MORE, message: \"more data\", success: true}",
     "{name: DEMO_MORE, value: 1, key: MORE, message: \"more data\"}", "LINT-unknown-error",
     "error_channel: {success"),
    ("range: {min: 1}, doc: \"Total.\"}", "range: {min: 1}, rule: precondition, "
     "on_violation: BAD_ARGUMENT, doc: \"Total.\"}", "LINT-precondition-code", "on_violation"),
    ("type: DemoMode, direction", "type: DemoModes, direction", "LINT-unknown-type",
     "type: DemoModes"),
    ("type: \"unsigned long long\"", "type: \"unsigned long (*)(void)\"", "SPEC-invalid-type",
     "unsigned long (*)(void)"),
    ("{name: DEMO_OK, value: 0, key: OK, message: \"ok\"}",
     "{name: DEMO_OK, value: 0, key: OK, message: \"ok\", http_status: 200, retriable: false}",
     "LINT-http-partial", "name: DEMO_MORE"),
    ("error_channel: {success: [OK, MORE]}",
     "error_channel: {kind: sentinel, sentinel: \"-1\"}", "LINT-role-missing",
     "error_channel: {kind: sentinel"),
    ("fixed: DEMO_NO_CALLBACK", "fixed: DEMO_NO_SUCH", "LINT-dangling-reference",
     "fixed: DEMO_NO_SUCH"),
])
def test_new_feature_findings_point_at_the_line(tmp_path: Path, old: str, new: str, rule: str,
                                                where: str) -> None:
    text = replace(old, new)
    found = problems(tmp_path, text)
    assert rule in [r for r, _, _, _ in found], found
    line = next(line for r, line, _, _ in found if r == rule)
    assert line == line_of(text, where), found
    assert all(hint for _, _, _, hint in found)


def test_unknown_and_out_param_defaults_need_no_worker_names(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, BASE))
    assert spec.errors.unknown is None and spec.errors.violation == "BAD_ARGUMENT"
    assert spec.interface.error_out_param is None
    assert spec.targets is not None and spec.targets.python_error_base == "DemoError"
    assert spec.targets.library_file == "libdemo.so" and spec.targets.cpp_namespace is None
    read = spec.function("DemoRead")
    assert read.channel.success_values == (0, 1)
    assert read.param("total").checked and read.param("total").on_violation == "BAD_ARGUMENT"
    assert [p.binding for p in read.params] == ["unsupported", "int", "int", "bool", "int", "fixed"]
    assert spec.targets.python_package is None


def test_a_channel_the_generated_boundary_cannot_render_is_a_finding(tmp_path: Path) -> None:
    """With the C++ boundary on, a status channel has no rendering yet: the spec says so at the
    line, instead of generating exports that do not compile."""
    text = replace("  cpp: {enabled: false}\n", "  cpp: {namespace: demo}\n")
    found = problems(tmp_path, text)
    assert [(r, line) for r, line, _, _ in found] == [
        ("LINT-target-unsupported", line_of(text, "error_channel: {success"))]
    assert "targets.cpp.enabled: false" in found[0][3]
