"""Shared fixtures of the test suite (the bindings fixtures live in bindings_support.py)."""

pytest_plugins = ["bindings_support"]
