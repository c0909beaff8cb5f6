"""Fixtures and helpers of the binding tests (tests/test_bindings*.py).

`shim_library()` compiles a stand-in C library from the generated cdef: every function of
the contract exists, reports the contract version and hash it is told to, and returns the
error code stored in `shim_code` (set through `shim_set_code`). It reaches the paths the
host library never takes on purpose: UNKNOWN, codes outside a function's declared set, a
creator returning NULL with code 0, and libraries built from another contract.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import worker_ffi
from worker_ffi import _generated as gen

CDEF = Path(worker_ffi.__file__).with_name("_cdef.h")
_DECL = re.compile(r"^(?P<ret>[\w ]+?\*?) ?(?P<name>\w+)\((?P<params>[^)]*)\);$")


def _shim_source(version: str, digest: str, omit: frozenset[str]) -> str:
    text = CDEF.read_text("utf-8")
    lines = ["#include <stdbool.h>", "#include <stdint.h>", "#include <stddef.h>",
             "static int shim_code = 0;", "static uint64_t shim_value = 4096;",
             "void shim_set_code(int code) { shim_code = code; }",
             "void shim_set_value(uint64_t value) { shim_value = value; }",
             "typedef struct CudaContext CudaContext;", "typedef struct CudaModel CudaModel;",
             "typedef struct InferenceResult InferenceResult;"]
    for line in text.splitlines():
        m = _DECL.match(line.strip())
        if not m or m["name"] in omit:
            continue
        ret, name, params = m["ret"].strip(), m["name"], m["params"]
        body = "if (error_code) *error_code = shim_code; " if "int* error_code" in params else ""
        if name == "cuda_contract_version":
            body += f'return "{version}";'
        elif name == "cuda_contract_hash":
            body += f'return "{digest}";'
        elif name == "cuda_last_error_detail":
            body += 'return shim_code ? "shim detail" : "";'
        elif ret == "const char*":
            body += 'return "shim";'
        elif ret.endswith("*"):
            body += f"return shim_code || shim_value == 0 ? NULL : ({ret})(uintptr_t)0x10c1;"
        elif ret == "bool":
            body += "return shim_code == 0;"
        elif ret == "void":
            pass
        else:
            body += f"return shim_code ? 0 : ({ret})shim_value;"
        lines.append(f"__attribute__((visibility(\"default\"))) {ret} {name}({params}) "
                     f"{{ {body} }}")
    return "\n".join(lines) + "\n"


def shim_library(directory: Path, *, version: str = gen.CONTRACT_VERSION,
                 digest: str = gen.CONTRACT_HASH, omit: frozenset[str] = frozenset()) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the shim library")
    source = directory / "shim.c"
    source.write_text(_shim_source(version, digest, omit), "utf-8")
    out = directory / "libshim.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(out), str(source)],
                   check=True)
    return out


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, "-m", "conformance.models", str(out)], check=True,
                   capture_output=True)
    return out


@pytest.fixture(scope="session")
def tiny(models: Path) -> str:
    return str(models / "tiny.gguf")


@pytest.fixture(scope="session", params=["api", "abi"])
def lib(request: pytest.FixtureRequest) -> worker_ffi.Library:
    """The host library through the compiled API-mode module, and the same file in ABI mode."""
    if request.param == "api":
        return worker_ffi.load()
    return worker_ffi.load(path=Path(worker_ffi.__file__).with_name("libworker_ffi.so"))


@pytest.fixture
def ctx(lib: worker_ffi.Library) -> Iterator[worker_ffi.Context]:
    before = lib.testing_tracked_bytes(), lib.testing_live_handles()
    with lib.init(0) as context:
        yield context
    lib.testing_fail_allocation(0)
    assert (lib.testing_tracked_bytes(), lib.testing_live_handles()) == before


@pytest.fixture
def model(ctx: worker_ffi.Context, tiny: str) -> Iterator[worker_ffi.Model]:
    with ctx.load_model(tiny) as m:
        yield m
