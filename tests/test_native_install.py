"""`cmake --install` gives C and C++ consumers what they need: an out-of-tree C program built
with pkg-config and a C++ program built with find_package(worker_ffi), both against a
temporary install prefix, compile, link and run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSUMERS = Path(__file__).resolve().parent / "install_consumers"
needs = [tool for tool in ("cmake", "pkg-config", "cc") if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(bool(needs), reason=f"needs {', '.join(needs)} on PATH")


def run(*cmd: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=600)
    assert result.returncode == 0, f"{cmd}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("install")
    build = work / "build"
    run("cmake", "-S", ROOT / "native", "-B", build, "-DWORKER_FFI_BACKEND=host", "-DCMAKE_BUILD_TYPE=Release",
        "-DWORKER_FFI_TESTS=OFF", "-DWORKER_FFI_BENCH=OFF")
    run("cmake", "--build", build, "--target", "worker_ffi", "--parallel", str(os.cpu_count() or 1))
    out = work / "prefix"  # chosen at install time: the package must be relocatable
    run("cmake", "--install", build, "--prefix", out)
    return out


def libdir(prefix: Path) -> Path:
    return next(prefix.rglob("libworker_ffi.so")).parent


def test_installed_tree(prefix: Path) -> None:
    assert (prefix / "include" / "worker_ffi.h").is_file()
    assert next(prefix.rglob("worker_ffiConfig.cmake"), None) is not None
    assert next(prefix.rglob("worker_ffiConfigVersion.cmake"), None) is not None
    assert next(prefix.rglob("worker_ffi.pc"), None) is not None


def test_c_consumer_with_pkg_config(prefix: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PKG_CONFIG_PATH": str(libdir(prefix) / "pkgconfig")}
    flags = run("pkg-config", "--cflags", "--libs", "worker_ffi", env=env).split()
    version = run("pkg-config", "--modversion", "worker_ffi", env=env).strip()
    assert any(f.startswith("-I") and Path(f[2:]).resolve() == (prefix / "include").resolve() for f in flags)
    exe = tmp_path / "consumer"
    run("cc", "-std=c11", "-Wall", "-Werror", CONSUMERS / "c" / "main.c", *flags, "-o", exe, env=env)
    out = run(exe, env={**env, "LD_LIBRARY_PATH": str(libdir(prefix))})
    assert f"c consumer: contract {version}," in out and "cuda_init code 0" in out


def test_cpp_consumer_with_find_package(prefix: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    run("cmake", "-S", CONSUMERS / "cpp", "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}")
    run("cmake", "--build", build)
    out = run(build / "consumer")  # CMake's build rpath points at the imported library
    assert "c++ consumer: contract " in out and "cuda_init code 0" in out
