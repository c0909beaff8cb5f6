"""The worker's plug-in: what spec/worker_ffi.yaml cannot state as rules.

Valid arguments (a loadable GGUF model file, a prompt), the project's build paths, the
device check for the CUDA build, and the semantic tests of models, tokens, sampling, stop
reasons, cancel and differential streams (test_*.py in this package).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # The plug-in class needs cffi; `python -m conformance.models` (the native tests' model
    # writer) needs only numpy and gguf, so the class is imported when the suite asks for it.
    if name == "PLUGIN":
        from conformance.plugins.worker_ffi.plugin import WorkerPlugin

        return WorkerPlugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
