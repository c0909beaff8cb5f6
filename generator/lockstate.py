"""What the lock baseline says about the current spec: locked, or a draft and why."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.model import Spec

BASELINE = "coordination/ffi.lock.json"


@dataclass(frozen=True)
class LockState:
    locked: bool
    reason: str
    date: str | None = None
    changes: tuple[str, ...] = field(default_factory=tuple)
    baseline: dict[str, Any] | None = None


def lock_state(spec: Spec, root: Path) -> LockState:
    """LOCKED when the committed baseline was written from exactly this contract."""
    path = root / BASELINE
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LockState(False, "no lock baseline yet; run `ffispec lock`")
    except (OSError, ValueError):
        return LockState(False, f"{BASELINE} is unreadable; run `ffispec verify-lock`")
    if not isinstance(baseline, dict):
        return LockState(False, f"{BASELINE} is not a lock baseline")
    lock = baseline.get("lock", {})
    if lock.get("contract_hash") != spec.contract_hash:
        return LockState(False, f"the spec differs from lock {lock.get('version', '?')}; "
                                "run `ffispec diff`", baseline=baseline)
    return LockState(True, "", lock.get("date"), tuple(lock.get("changes", ())), baseline)
