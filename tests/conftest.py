"""Shared fixtures of the test suite (the bindings fixtures live in bindings_support.py), and
the Hypothesis profiles: `ci` (the default) and `thorough` (`--hypothesis-profile thorough`)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["bindings_support"]

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=200, derandomize=True, database=None,
                          deadline=None, print_blob=False, suppress_health_check=_SLOW_OK)
settings.register_profile("thorough", max_examples=3000, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK)


def pytest_configure(config: pytest.Config) -> None:
    # --hypothesis-profile wins, then $HYPOTHESIS_PROFILE, then `ci`. Loaded here, not at import:
    # Hypothesis' plugin applies the command-line profile before this conftest is imported.
    settings.load_profile(config.getoption("hypothesis_profile", None)
                          or os.environ.get("HYPOTHESIS_PROFILE", "ci"))
