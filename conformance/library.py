"""Load any shared library that claims the contract, by path, in cffi ABI mode.

The declarations come from the generated cdef (a rendering of the spec), never from the
library or the project's build tree, so a library built elsewhere is checked the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cffi import FFI

REPO = Path(__file__).resolve().parent.parent
CDEF = REPO / "worker_ffi" / "_cdef.h"
HEADER = REPO / "native" / "include" / "worker_ffi.h"
SPEC = REPO / "spec" / "worker_ffi.yaml"
BUILD_DIRS = {"host": REPO / "native/build/host", "cuda": REPO / "native/build/cuda"}


def default_library(backend: str = "host") -> Path:
    return BUILD_DIRS[backend] / "libworker_ffi.so"


@dataclass
class Library:
    """One loaded implementation: its path, its cffi namespace and a short label."""

    path: Path
    label: str
    cdef_path: Path = CDEF

    @cached_property
    def ffi(self) -> FFI:
        ffi = FFI()
        ffi.cdef(self.cdef_path.read_text(encoding="utf-8"))
        return ffi

    @cached_property
    def lib(self):
        if not self.path.is_file():
            raise FileNotFoundError(
                f"no library at {self.path}; build it with `cmake -S native -B native/build/host "
                f"-DWORKER_FFI_BACKEND=host && cmake --build native/build/host -j2` or pass --lib")
        return self.ffi.dlopen(os.fspath(self.path))

    def has(self, symbol: str) -> bool:
        try:
            getattr(self.lib, symbol)
        except AttributeError:
            return False
        return True

    @cached_property
    def device_count(self) -> int:
        """Asked in a fresh process: querying a CUDA runtime initialises it, and a process
        whose CUDA is initialised cannot fork children that use CUDA (the isolated tests fork),
        so the test process itself never touches the device."""
        probe = ("import sys; from cffi import FFI; ffi = FFI(); ffi.cdef('int cuda_get_device_count(void);');"
                 "print(ffi.dlopen(sys.argv[1]).cuda_get_device_count())")
        try:
            out = subprocess.run([sys.executable, "-c", probe, os.fspath(self.path)], capture_output=True,
                                 text=True, timeout=120, check=True).stdout
        except (subprocess.SubprocessError, OSError):
            return 0
        return int(out.strip() or 0)
