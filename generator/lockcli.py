"""Lock workflow subcommands: lock, diff, verify-lock."""

from __future__ import annotations

from typing import Any


def register(sub: Any, add: Any) -> None:
    del sub, add
