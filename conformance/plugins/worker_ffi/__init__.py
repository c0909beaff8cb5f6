"""The worker's plug-in: what spec/worker_ffi.yaml cannot state as rules.

Valid arguments (a loadable GGUF model file, a prompt), the project's build paths, the
device check for the CUDA build, and the semantic tests of models, tokens, sampling, stop
reasons, cancel and differential streams (test_*.py in this package).
"""

from __future__ import annotations

from conformance.plugins.worker_ffi.plugin import WorkerPlugin

PLUGIN = WorkerPlugin
