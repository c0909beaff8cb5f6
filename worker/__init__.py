"""The worker HTTP service on the ``worker_ffi`` bindings.

``POST /execute`` streams Server-Sent Events (``started``, ``token``*, then exactly one of
``end`` or ``error``); ``POST /cancel`` answers 202 idempotently; ``GET /health`` reports what the
bindings can tell. Start it with ``python -m worker`` (see :mod:`worker.cli`).

Importing this package does not load the bindings; :mod:`worker.app` and :mod:`worker.cli` do.
"""
