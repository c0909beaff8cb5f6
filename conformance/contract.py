"""The spec model, loaded once per process (test modules need it at collection time)."""

from __future__ import annotations

import os
from functools import lru_cache

from conformance.library import REPO, SPEC
from generator.model import Spec


@lru_cache(maxsize=1)
def load() -> Spec:
    from generator.spec import load_spec

    cwd = os.getcwd()
    os.chdir(REPO)  # locations in the model are relative to the repository root
    try:
        return load_spec(SPEC.relative_to(REPO))
    finally:
        os.chdir(cwd)
