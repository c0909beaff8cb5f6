"""Provider plug-ins: what the spec cannot state, supplied by a small Python module.

A plug-in is a module exposing `PLUGIN`, a subclass of `Plugin`. The suite picks it from
`--plugin MODULE`, the `conformance_plugin` ini option, $CONFORMANCE_PLUGIN, or else the module
`conformance.plugins.<interface name>` when it exists; with none, the suite runs what the spec
alone derives. docs/conformance-plugins.md is the contract.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.model import Function, Param, Spec

if TYPE_CHECKING:
    import pytest

    from conformance.calls import Caller, Outcome
    from conformance.rules import RuleBook
    from conformance.world import World


class NotProvided(Exception):
    """The plug-in has no value for this parameter: the core derives one or skips."""


class Plugin:
    """Base class: every hook is optional; the defaults say "not provided"."""

    # Test modules (dotted names) collected with the core's when this plug-in is active.
    test_modules: Sequence[str] = ()
    # Error keys the fault hooks must produce (None: any declared failure code).
    internal_failure_key: str | None = None
    allocation_failure_key: str | None = None

    def __init__(self, spec: Spec, config: pytest.Config | None = None) -> None:
        self.spec = spec
        self.config = config

    # -- session ---------------------------------------------------------------------------
    def default_library(self, backend: str) -> Path | None:
        """The library to test when no --lib is given (None: --lib is required)."""
        return None

    def setup(self, tmp: Path) -> None:
        """Prepare session-wide resources (test data files) under `tmp`; called once."""

    def unavailable(self, library_path: Path) -> str | None:
        """Why this library cannot create handles on this machine (no device), or None."""
        return None

    # -- valid arguments -------------------------------------------------------------------
    def valid(self, fn: Function, param: Param, world: World) -> Any:
        """A valid value for an `in` parameter the spec's rules do not determine (a file
        path, a statement, a prompt). Raise NotProvided to let the core derive one."""
        raise NotProvided

    def strategy(self, fn: Function, param: Param, world: World | None, caller: Caller) -> Any:
        """A Hypothesis strategy of valid values for `param`, or None (the core draws from
        the rule). `world` is None for functions that take no handle."""
        return None

    # -- checks ----------------------------------------------------------------------------
    def rules(self, book: RuleBook) -> None:
        """Add the plug-in's rules (`book.add(ID, location, says)`), e.g. SEM-* rules."""

    def check_call(self, caller: Caller, fn: Function, args: dict[str, Any], outcome: Outcome) -> None:
        """A semantic check on every call the suite makes (after the core's own checks);
        raise `caller.violation(RULE, message)`."""


def load(name: str | None, spec: Spec, config: pytest.Config | None = None) -> Plugin:
    """Instantiate the named plug-in (module or file path), or the default for the spec."""
    module = None
    if name:
        module = _import(name)
    else:
        default = f"conformance.plugins.{spec.interface.name}"
        if importlib.util.find_spec(default) is not None:
            module = importlib.import_module(default)
    if module is None:
        return Plugin(spec, config)
    cls = getattr(module, "PLUGIN", None)
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise UsageError(f"plug-in {module.__name__} ({getattr(module, '__file__', '?')}) has no "
                         "`PLUGIN = <subclass of conformance.plugin.Plugin>`")
    if getattr(cls, "roles", None):
        # Hooks used to be named here; the suite now finds them only by the spec's `role:`.
        raise UsageError(f"plug-in {module.__name__}: {cls.__name__}.roles names testing hooks, "
                         "which the suite finds only by the spec's `role:` entries now; move each "
                         "to its function in the spec (`role: testing_fail_call`, ...) and delete "
                         "`roles` from the plug-in")
    return cls(spec, config)


class UsageError(Exception):
    """A mistake in how the suite was invoked: reported without a traceback."""


def _import(name: str):
    path = Path(name)
    if name.endswith(".py") or path.is_dir():
        if not path.exists():
            raise UsageError(f"plug-in {name}: no such file or directory")
        init = path / "__init__.py" if path.is_dir() else path
        mod_name = f"_conformance_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(mod_name, init)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UsageError(f"plug-in {name!r} cannot be imported: {exc}") from None
