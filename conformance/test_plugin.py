"""The active plug-in's own tests (its `test_modules`), collected here so that a plug-in kept
anywhere (inside conformance/plugins/ or next to its spec) runs with the core's fixtures and
reports. Each test keeps its module's marks; node IDs read `test_plugin.py::<module>__<test>`."""

from __future__ import annotations

import importlib

from conformance import contract


def _collect() -> dict[str, object]:
    found: dict[str, object] = {}
    for dotted in contract.plugin().test_modules:
        module = importlib.import_module(dotted)
        marks = getattr(module, "pytestmark", [])
        marks = marks if isinstance(marks, list) else [marks]
        short = dotted.rsplit(".", 1)[-1].removeprefix("test_")
        for name, obj in vars(module).items():
            if name.startswith("test_") and callable(obj):
                for mark in marks:
                    obj = mark(obj)
                found[f"test_{short}__{name.removeprefix('test_')}"] = obj
            elif hasattr(obj, "_pytestfixturefunction") or type(obj).__name__ == "FixtureFunctionDefinition":
                found[name] = obj  # the module's own fixtures
    return found


globals().update(_collect())

