"""Open a native library for a generated module, check its contract where the spec can, and
bind the generated classes to it. Generic: the generated module (`gen`) supplies the names.

A generated module provides CONTRACT_NAME, CONTRACT_VERSION, CONTRACT_HASH, ROLES, FUNCTIONS,
Library and HANDLE_CLASSES, and ships its cdef as `_cdef.h` next to itself.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

from ffispec_runtime.errors import ContractMismatchError, LibraryLoadError, LibraryNotFoundError
from ffispec_runtime.handles import LibraryBase, _bind_classes, specialise_library


def cdef_of(gen: ModuleType) -> str:
    package = gen.__name__.rsplit(".", 1)[0]
    return resources.files(package).joinpath("_cdef.h").read_text("utf-8")


def open_abi(gen: ModuleType, path: str | os.PathLike[str], *, fix: str, backend: str = "",
             must_exist: bool = True) -> Any:
    """`ffi.dlopen()` the library at `path` (a file, or with `must_exist=False` a name the
    dynamic loader resolves, such as `libsqlite3.so.0`) and bind `gen`'s classes to it."""
    import cffi  # type: ignore[import-untyped,unused-ignore]

    name = os.fspath(path)
    if must_exist and not Path(name).is_file():
        raise LibraryNotFoundError(f"no library file at {name}; {fix}")
    ffi = cffi.FFI()
    ffi.cdef(cdef_of(gen))
    try:
        lib = ffi.dlopen(name)
    except OSError as exc:
        if not must_exist:
            raise LibraryNotFoundError(f"the dynamic loader cannot open {name}: {exc}; {fix}") from None
        raise LibraryLoadError(f"the dynamic loader refused {name}: {exc}") from None
    return bind(gen, lib, ffi, path=name, mode="abi", backend=backend, fix=fix)


def bind(gen: ModuleType, lib: Any, ffi: Any, *, path: str, mode: str, backend: str,
         fix: str) -> Any:
    verify_contract(gen, lib, ffi, path, fix)
    missing = [name for name in gen.FUNCTIONS if not has(lib, name)]
    if missing:
        raise ContractMismatchError(
            f"{path} does not export {', '.join(missing)}, which {gen.CONTRACT_NAME} "
            f"{gen.CONTRACT_VERSION} declares; {fix}")
    cls = specialise_library(gen.Library, gen.FUNCTIONS, lib, ffi)
    library: LibraryBase = object.__new__(cls)
    library.path, library.mode, library.backend = path, mode, backend
    _bind_classes(library, gen.HANDLE_CLASSES, gen.FUNCTIONS, lib, ffi)
    return library


def has(lib: Any, name: str) -> bool:
    try:
        getattr(lib, name)
    except AttributeError:
        return False
    return True


def verify_contract(gen: ModuleType, lib: Any, ffi: Any, path: str, fix: str) -> None:
    """Raise `ContractMismatchError` unless the library reports `gen`'s contract. Only specs
    with the `contract_version` and `contract_hash` roles can be checked; others are not."""
    roles = gen.ROLES
    if "contract_version" not in roles or "contract_hash" not in roles:
        return
    names = (roles["contract_version"], roles["contract_hash"])
    if not all(has(lib, name) for name in names):
        raise ContractMismatchError(
            f"{path} does not export {' and '.join(names)}, so it cannot say which contract it "
            f"implements (bindings: {gen.CONTRACT_NAME} {gen.CONTRACT_VERSION}, hash "
            f"{gen.CONTRACT_HASH}); {fix}", bindings_hash=gen.CONTRACT_HASH,
            bindings_version=gen.CONTRACT_VERSION)
    version = ffi.string(getattr(lib, names[0])()).decode("utf-8", "replace")
    digest = ffi.string(getattr(lib, names[1])()).decode("utf-8", "replace")
    if (version, digest) != (gen.CONTRACT_VERSION, gen.CONTRACT_HASH):
        raise ContractMismatchError(
            f"{path} was built from contract {version} (hash {digest}) but these bindings are "
            f"for {gen.CONTRACT_VERSION} (hash {gen.CONTRACT_HASH}); {fix}",
            library_hash=digest, bindings_hash=gen.CONTRACT_HASH, library_version=version,
            bindings_version=gen.CONTRACT_VERSION)
