"""Open a native library, check its contract, and bind the generated classes to it.

Two ways in, one set of declarations (the generated `_cdef.h`):

* **API mode** (the default for `backend="host"`): `worker_ffi._native`, the cffi extension
  compiled against `native/include/worker_ffi.h` when the package is installed and linked to
  the `libworker_ffi.so` shipped next to it. The C compiler checked every declaration.
* **ABI mode** (`path=...`, or `backend="cuda"`): `ffi.dlopen()` of any file that claims the
  contract, such as a CUDA build or a library from another tree. The contract check below is
  what makes that safe: a library built from another spec is refused before any other call.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ffispec_runtime import loader
from ffispec_runtime.errors import LibraryNotFoundError
from worker_ffi import _generated as gen

BACKENDS = ("host", "cuda")
REPO = Path(__file__).resolve().parent.parent
ENV_LIBRARY = "WORKER_FFI_LIB"  # overrides the library of any backend (ABI mode)
ENV_CUDA_LIBRARY = "WORKER_FFI_CUDA_LIB"


def build_command(backend: str) -> str:
    return (f"cmake -S native -B native/build/{backend} -DWORKER_FFI_BACKEND={backend} && "
            f"cmake --build native/build/{backend} -j2" +
            (" && pip install ." if backend == "host" else ""))


_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def load(backend: str = "host", path: str | os.PathLike[str] | None = None) -> gen.Library:
    """Open the native library and return its `Library` object.

    `backend="host"` with no `path` uses the compiled API-mode module; `path` (or
    `backend="cuda"`, which looks in `$WORKER_FFI_CUDA_LIB` and `native/build/cuda/`) opens a
    file in ABI mode. Right after opening, the library's contract version and hash are
    compared with the bindings'; a mismatch raises `ContractMismatchError`. Loading the same
    library twice returns the same object.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"not {backend!r}")
    if path is None and os.environ.get(ENV_LIBRARY):
        path = os.environ[ENV_LIBRARY]
    if path is None and backend == "cuda":
        path = _find_cuda_library()
    key = ("api", backend) if path is None else ("abi", os.path.realpath(os.fspath(path)))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            cached = _open_api() if path is None else _open_abi(Path(os.fspath(path)), backend)
            _CACHE[key] = cached
    library: gen.Library = cached
    return library


def _find_cuda_library() -> Path:
    explicit = os.environ.get(ENV_CUDA_LIBRARY)
    if explicit:
        # An explicit choice that points nowhere is a mistake to report, not to paper over
        # by silently loading some other build.
        if not Path(explicit).is_file():
            raise LibraryNotFoundError(
                f"${ENV_CUDA_LIBRARY} names {explicit}, which is not a file; point it at a "
                f"CUDA build of libworker_ffi (`{build_command('cuda')}`) or unset it")
        return Path(explicit)
    candidates = [REPO / "native" / "build" / "cuda" / "libworker_ffi.so"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise LibraryNotFoundError(
        f"no CUDA build of libworker_ffi found (looked at "
        f"{', '.join(str(c) for c in candidates)}); build it on a machine with nvcc with "
        f"`{build_command('cuda')}`, or pass load(path=...) or set ${ENV_CUDA_LIBRARY}")


def _open_api() -> gen.Library:
    try:
        from worker_ffi import _native  # type: ignore[attr-defined]
    except ImportError as exc:
        raise LibraryNotFoundError(
            f"the compiled bindings worker_ffi._native are not importable ({exc}); install the "
            f"package so it builds the host library and the cffi extension: `pip install .` "
            f"(or `pip install -e .` for development), or load a built library with "
            f"worker_ffi.load(path='native/build/host/libworker_ffi.so')") from None
    return _bind(_native.lib, _native.ffi, path=_native.__file__, mode="api", backend="host")


def _fix(backend: str) -> str:
    return (f"rebuild the library from this checkout's spec with `{build_command(backend)}` "
            f"(after `ffispec generate`), or install bindings generated from the library's spec")


def _open_abi(path: Path, backend: str) -> gen.Library:
    if not path.is_file():
        raise LibraryNotFoundError(
            f"no library file at {path}; build it with `{build_command(backend)}` and pass its "
            f"path (for example native/build/{backend}/libworker_ffi.so)")
    library: gen.Library = loader.open_abi(gen, path, fix=_fix(backend), backend=backend)
    return library


def _bind(lib: Any, ffi: Any, *, path: str, mode: str, backend: str) -> gen.Library:
    library: gen.Library = loader.bind(gen, lib, ffi, path=path, mode=mode, backend=backend,
                                       fix=_fix(backend))
    return library


def verify_contract(lib: Any, ffi: Any, path: str, backend: str) -> None:
    """Raise `ContractMismatchError` unless the library reports this contract."""
    loader.verify_contract(gen, lib, ffi, path, _fix(backend))
