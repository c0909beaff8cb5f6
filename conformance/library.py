"""Load any shared library that claims a spec, by path, in cffi ABI mode.

The declarations are the cdef rendered from the spec model (never read from the library or a
build tree), so a library built elsewhere is checked the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from cffi import FFI

from conformance import contract

REPO = contract.REPO


@lru_cache(maxsize=4)
def cdef_text(spec_path: Path) -> str:
    """The spec's cdef (the header without preprocessor logic), rendered from the model."""
    from generator.render import ARTEFACTS, render_all

    cdef = [a for a in ARTEFACTS if a.template and a.template.startswith("cdef")]
    return next(iter(render_all(contract.load(), artefacts=cdef).values()))


def cdef_file(spec_path: Path) -> Path:
    """The cdef written next to the session's temporary files (replays read it)."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"conformance-{os.getpid()}-{spec_path.stem}.cdef.h"
    if not out.is_file():
        out.write_text(cdef_text(spec_path), encoding="utf-8")
    return out


def header_path() -> Path:
    """The header the spec generates (interface.header.path, relative to the spec's root)."""
    return contract.root() / contract.load().interface.header.path


@dataclass
class Library:
    """One loaded implementation: its path, its cffi namespace and a short label."""

    path: Path
    label: str

    @cached_property
    def ffi(self) -> FFI:
        ffi = FFI()
        ffi.cdef(cdef_text(contract.path()))
        return ffi

    @cached_property
    def lib(self):
        if not self.path.is_file():
            raise FileNotFoundError(f"no library at {self.path}: build it or pass --lib PATH")
        return self.ffi.dlopen(os.fspath(self.path))

    def has(self, symbol: str) -> bool:
        try:
            getattr(self.lib, symbol)
        except AttributeError:
            return False
        return True

    @cached_property
    def unavailable(self) -> str | None:
        """Why this library cannot create handles here (the plug-in asks, e.g. no device)."""
        return contract.plugin().unavailable(self.path)


def probe_in_subprocess(library: Path, function: str) -> int | None:
    """Call `int function(void)` of `library` in a fresh process and return its result.

    A runtime initialised in the test process (a GPU driver) may not survive the forks the
    isolated tests make, so questions about the machine are asked elsewhere."""
    probe = ("import sys; from cffi import FFI; ffi = FFI(); ffi.cdef(f'int {sys.argv[2]}(void);');"
             "print(getattr(ffi.dlopen(sys.argv[1]), sys.argv[2])())")
    try:
        out = subprocess.run([sys.executable, "-c", probe, os.fspath(library), function],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    return int(out.strip() or 0)
