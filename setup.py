"""Build hook of the `worker_ffi` bindings; project metadata lives in pyproject.toml.

`pip install .` and `pip install -e .` both run `build_ext`, which

1. builds the host backend of the native library with CMake into the build tree
   (`<build_temp>/native-host`, never the developer's `native/build/host`, whose cache
   options belong to whoever configured it);
2. compiles the cffi **API-mode** extension `worker_ffi._native` from the generated cdef,
   including `native/include/worker_ffi.h`, so the C compiler checks every declaration against
   the header the library was built from;
3. ships `libworker_ffi.so` inside the package, next to the extension, which finds it through
   an `$ORIGIN` rpath.

Why ship the library instead of linking to the build tree: an installed package must keep
working after the checkout is cleaned or moved, and an rpath into a build directory would
silently pick up whatever library is rebuilt there later (a different contract, caught only
at load). A copy inside the package is the exact file the extension was linked against.
In editable mode the extension and the library are copied into the source `worker_ffi/`
directory, where the editable finder imports them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
NATIVE = ROOT / "native"
LIBRARY_FILE = "libworker_ffi.so"
PACKAGE_FILES = ("_cdef.h", "py.typed")  # non-Python files the package reads at run time


def _ffi_build_module():  # type: ignore[no-untyped-def]
    """Import worker_ffi/_ffi_build.py by path: importing the package needs nothing built,
    but the build must not depend on that."""
    spec = importlib.util.spec_from_file_location("_worker_ffi_build", ROOT / "worker_ffi" /
                                                  "_ffi_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Progress:
    """Shows the native build's progress while pip runs it. pip captures a build's output and
    prints it only with -v or on failure, so the C++ build (a minute or more) would otherwise
    pass in silence: progress lines also go to the controlling terminal when there is one
    (WORKER_FFI_BUILD_QUIET=1 turns that off). Everything still goes to stdout for pip's log,
    and a failing step's output is raised with the error."""

    def __enter__(self) -> "_Progress":
        self.tty = None
        if not os.environ.get("WORKER_FFI_BUILD_QUIET"):
            try:
                self.tty = open("/dev/tty", "w")  # noqa: SIM115 - closed in __exit__
            except OSError:
                self.tty = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tty is not None:
            self.tty.close()

    def say(self, line: str) -> None:
        print(line, flush=True)
        if self.tty is not None:
            self.tty.write(line + "\n")
            self.tty.flush()

    def run(self, cmd: list[str], what: str) -> None:
        self.say(f"worker_ffi: {what}")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        lines: list[str] = []
        for raw in proc.stdout:
            line = raw.rstrip()
            lines.append(line)
            print(line, flush=True)
            # CMake's progress: "[ 42%] Building ..." (Makefiles) or "[7/22] Building ..." (Ninja).
            if line.startswith("[") and ("Building" in line or "Linking" in line) and self.tty is not None:
                self.tty.write(f"worker_ffi: {line}\n")
                self.tty.flush()
        if proc.wait() != 0:
            tail = "\n".join(lines[-40:])
            raise RuntimeError(f"worker_ffi: {what} failed (exit {proc.returncode}):\n{tail}")
        self.say(f"worker_ffi: {what}: done")


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            target = Path(self.build_lib) / "worker_ffi"
            target.mkdir(parents=True, exist_ok=True)
            for name in PACKAGE_FILES:
                shutil.copy2(ROOT / "worker_ffi" / name, target / name)


class BuildNativeAndFfi(build_ext):
    """CMake for the host library, then the cffi extension linked against it."""

    def run(self) -> None:
        native_build = self._build_native()
        builder = _ffi_build_module().make_ffibuilder(
            include_dirs=[str(NATIVE / "include")], library_dirs=[str(native_build)])
        tmpdir = Path(self.build_temp) / "cffi"
        tmpdir.mkdir(parents=True, exist_ok=True)
        made = builder.distutils_extension(tmpdir=str(tmpdir), verbose=False)
        # Fill in the placeholder (finalised by setuptools) rather than replace it.
        ext = next(e for e in self.extensions if e.name == "worker_ffi._native")
        for attr in ("sources", "include_dirs", "library_dirs", "libraries",
                     "extra_compile_args", "extra_link_args", "define_macros"):
            setattr(ext, attr, list(getattr(made, attr)))
        super().run()
        library = native_build / LIBRARY_FILE
        destinations = {Path(self.get_ext_fullpath("worker_ffi._native")).parent}
        if self.inplace or getattr(self, "editable_mode", False):
            destinations.add(ROOT / "worker_ffi")
        for dest in destinations:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(library, dest / LIBRARY_FILE)

    def _build_native(self) -> Path:
        cmake = shutil.which("cmake")
        if cmake is None:
            raise RuntimeError("building worker_ffi needs CMake >= 3.20 and a C++20 compiler "
                               "to build native/ (apt-get install cmake g++, or pip install "
                               "cmake)")
        build_dir = (Path(self.build_temp) / "native-host").resolve()
        configure = [cmake, "-S", str(NATIVE), "-B", str(build_dir),
                     "-DWORKER_FFI_BACKEND=host", "-DCMAKE_BUILD_TYPE=Release",
                     "-DWORKER_FFI_TESTS=OFF", "-DWORKER_FFI_BENCH=OFF"]
        jobs = str(max(1, os.cpu_count() or 1))
        with _Progress() as progress:
            progress.run(configure, "configuring native/ with CMake")
            progress.run([cmake, "--build", str(build_dir), "--target", "worker_ffi",
                          "--parallel", jobs], f"compiling the native library ({jobs} jobs)")
        found = sorted(build_dir.rglob(LIBRARY_FILE))
        if not found:
            raise RuntimeError(f"CMake finished but produced no {LIBRARY_FILE} under {build_dir}")
        return found[0].parent


setup(
    # A placeholder: build_ext replaces it with the cffi-generated extension once the native
    # library it links against exists.
    ext_modules=[Extension("worker_ffi._native", sources=[])],
    cmdclass={"build_ext": BuildNativeAndFfi, "build_py": BuildPy},
)
