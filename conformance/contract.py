"""Which spec the suite checks, loaded once per process (test modules need it at collection).

The spec comes from `--spec PATH`, else the `conformance_spec` ini option, else
$CONFORMANCE_SPEC, else the project's own spec (conftest.py resolves that order and calls
`use()` before any test module is collected).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from generator.model import Spec

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO / "spec" / "worker_ffi.yaml"

_path: Path = Path(os.environ.get("CONFORMANCE_SPEC") or DEFAULT_SPEC).resolve()


def use(path: str | os.PathLike[str]) -> None:
    """Select the spec every later `load()` returns."""
    global _path
    new = Path(path).resolve()
    if new != _path:
        _path = new
        load.cache_clear()


def path() -> Path:
    return _path


@lru_cache(maxsize=1)
def load() -> Spec:
    from generator.spec import load_spec

    # Locations in the model are relative to the spec's project (the directory holding spec/
    # for the project's layout, else the spec's own directory), as `ffispec` reports them.
    root = _path.parent.parent if _path.parent.name == "spec" else _path.parent
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return load_spec(_path.relative_to(root))
    finally:
        os.chdir(cwd)


def root() -> Path:
    """The directory spec locations are relative to."""
    return _path.parent.parent if _path.parent.name == "spec" else _path.parent


_plugin_name: str | None = os.environ.get("CONFORMANCE_PLUGIN") or None


def use_plugin(name: str | None) -> None:
    global _plugin_name
    if name != _plugin_name:
        _plugin_name = name
        plugin.cache_clear()


@lru_cache(maxsize=1)
def plugin():
    """The active provider plug-in for the loaded spec (conformance.plugin.Plugin)."""
    from conformance.plugin import load as load_plugin

    return load_plugin(_plugin_name, load())


@lru_cache(maxsize=1)
def hooks():
    from conformance.hooks import Hooks

    return Hooks(load())
