"""Conformance suite for any shared library that claims the worker_ffi contract.

Run it with `pytest conformance --lib path/to/libworker_ffi.so`. Most checks are derived from
the spec's frozen model (generator.spec.load_spec); every failure names a stable rule ID, the
spec line it checks and a minimal replay. See conformance/README.md.
"""
