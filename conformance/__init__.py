"""Conformance suite for any shared library that claims a spec.

Run it with `pytest conformance --spec SPEC --lib LIB` (defaults: the project's own spec and
build). The core derives every check from the spec's frozen model (generator.spec.load_spec);
what the spec cannot state comes from a provider plug-in (conformance/plugin.py). Every failure
names a stable rule ID, the spec line it checks and a minimal replay. See conformance/README.md.
"""
