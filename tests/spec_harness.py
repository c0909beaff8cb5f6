"""Run `ffispec generate` on untrusted specs the way a CI job would, but in a disposable child process
with a time and memory bound, and check what comes out: the exit status, no traceback, and
for a spec that lint accepts, artefacts that compile (C, C++) and import (Python) without
side effects.

Used by the escaping test and the spec fuzz test. A spec is added to the fuzzed set with one
line in SPECS."""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import types
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The specs the fuzz test mutates: one line each.
SPECS: dict[str, Path] = {
    "worker": ROOT / "spec" / "worker_ffi.yaml",
    "sqlite": ROOT / "examples" / "sqlite" / "spec" / "sqlite3.yaml",
}

EXIT_STATUSES = {0, 2, 4, 8}
MARKER = "INJECTED-BY-SPEC"  # what injected Python would create in the working directory
# Texts that would run code or add declarations if any generator emitted them unescaped.
PAYLOADS = [
    f'*/ #error injected\n/* """\n__import__("pathlib").Path("{MARKER}").touch()\n"""',
    f'"""; __import__("pathlib").Path("{MARKER}").touch(); """',
    f'\n__import__("pathlib").Path("{MARKER}").touch()  # ',
    '"); static_assert(false, "injected"); ("',
    "end \\",
    "trigraph ??/\nnext",
    "{{ spec }} {% raw %} <!-- hidden | cell",
    "tab\tcr\rnul\x00del\x7f bell\x07",
    "non-ASCII: größe, 日本語, emoji \U0001f600, rtl \u202e, nel \x85, ls \u2028",
]


@dataclass
class Outcome:
    status: int | None
    output: str = ""
    traceback: str = ""
    seconds: float = 0.0
    artefacts: dict[str, str] = field(default_factory=dict)
    import_error: str = ""
    side_effect: bool = False
    killed: str = ""  # why the child was stopped: "time", "memory", or ""


def _evaluate(text: str, workdir: Path) -> dict[str, Any]:
    """In the child: `ffispec generate` on `text` into a scratch root; when it passes, the
    artefacts it wrote, and whether importing the bindings it wrote works."""
    from generator import cli

    spec_path = workdir / "spec.yaml"
    spec_path.write_text(text, encoding="utf-8", errors="surrogatepass")
    root = workdir / "root"
    root.mkdir()
    out = io.StringIO()
    result: dict[str, Any] = {"status": None, "output": "", "traceback": "", "artefacts": {},
                              "import_error": "", "side_effect": False}
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                result["status"] = cli.main(["generate", "--spec", str(spec_path),
                                             "--root", str(root)])
            except SystemExit as exc:  # argparse usage errors
                result["status"] = exc.code if isinstance(exc.code, int) else 2
            if result["status"] == 0:
                artefacts = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
                             for p in sorted(root.rglob("*")) if p.is_file()}
                result["artefacts"] = artefacts
                bindings = next(t for p, t in artefacts.items() if p.endswith("/_generated.py"))
                result["import_error"] = _import_bindings(bindings, workdir)
    except BaseException:  # noqa: BLE001 - a traceback is exactly what this looks for
        result["traceback"] = traceback.format_exc()
    result["seconds"] = time.perf_counter() - start
    result["output"] = out.getvalue()[-4000:]
    result["side_effect"] = (workdir / MARKER).exists() or (root / MARKER).exists()
    return result


def _import_bindings(source: str, workdir: Path) -> str:
    """Execute the generated bindings module as `import` would; '' or the error."""
    module = types.ModuleType("fuzzed_generated")
    module.__file__ = str(workdir / "_generated.py")
    try:
        code = compile(source, module.__file__, "exec")
        exec(code, module.__dict__)  # noqa: S102 - the point is to run what was generated
    except BaseException as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return ""


def _child(conn: Connection, limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    sys.setrecursionlimit(10_000)
    while True:
        try:
            text = conn.recv()
        except EOFError:
            return
        with tempfile.TemporaryDirectory(prefix="specfuzz-") as tmp:
            os.chdir(tmp)
            try:
                conn.send(_evaluate(text, Path(tmp)))
            finally:
                os.chdir("/")


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


class SpecRunner:
    """One long-lived child (forked, so the generator is imported once) that evaluates specs;
    a spec that runs past `seconds` or past `memory` bytes of extra address space kills it,
    and the next spec starts a new one."""

    def __init__(self, seconds: float = 10.0, memory: int = 768 * 1024 * 1024):
        self.seconds, self.memory = seconds, memory
        self._proc: Any = None
        self._conn: Connection | None = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child, _address_space() + self.memory),
                                 daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def run(self, text: str, seconds: float | None = None) -> Outcome:
        limit = self.seconds if seconds is None else seconds
        if self._proc is None or not self._proc.is_alive():
            self._start()
        assert self._conn is not None
        self._conn.send(text)
        if not self._conn.poll(limit):
            self.close()
            return Outcome(None, killed="time", seconds=limit)
        try:
            data = self._conn.recv()
        except EOFError:
            self.close()
            return Outcome(None, killed="memory")
        return Outcome(**data)

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None


# ------------------------------------------------------------------------- compiling

HEADER_COMPILERS = [("gcc", "c", "c11"), ("g++", "c++", "c++17")]


def compile_header(header: str, tmp: Path) -> list[str]:
    """Compile the header as C and as C++ with warnings as errors; the compilers' complaints."""
    path = tmp / "fuzzed.h"
    path.write_text(header, encoding="utf-8")
    problems = []
    for compiler, lang, std in HEADER_COMPILERS:
        if shutil.which(compiler) is None:
            problems.append(f"{compiler} is required to compile generated headers")
            continue
        proc = subprocess.run([compiler, "-x", lang, f"-std={std}", "-Wall", "-Wextra",
                               "-Werror", "-pedantic", "-fsyntax-only", str(path)],
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            problems.append(f"{compiler} -std={std}: {proc.stderr[-2000:]}")
    return problems


def compile_exports(artefacts: dict[str, str], header_path: str, tmp: Path) -> str:
    """Compile the generated C++ exports against the native core (syntax and types only)."""
    include = tmp / "include"
    generated = tmp / "src" / "generated"
    generated.mkdir(parents=True, exist_ok=True)
    include.mkdir(exist_ok=True)
    (include / Path(header_path).name).write_text(artefacts[header_path], encoding="utf-8")
    for name in ("ffi_impl.hpp", "ffi_exports.cpp"):
        (generated / name).write_text(next(t for p, t in artefacts.items()
                                           if p.endswith(f"/{name}")), "utf-8")
    proc = subprocess.run(["g++", "-std=c++20", "-Wall", "-Wextra", "-Werror", "-pedantic",
                           "-fsyntax-only", f"-I{include}", f"-I{tmp / 'src'}",
                           f"-I{ROOT / 'native' / 'src'}", str(generated / "ffi_exports.cpp")],
                          capture_output=True, text=True, check=False)
    return "" if proc.returncode == 0 else proc.stderr[-3000:]
