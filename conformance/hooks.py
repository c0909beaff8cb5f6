"""The testing hooks a spec may declare by role, and the known state every example starts from.

Roles (all optional; a check that needs one runs only when the spec declares it):

  testing_live_handles     () -> count of live handles         leak accounting
  testing_tracked_bytes    () -> bytes the library holds         leak accounting
  testing_fail_allocation  (n) arms the n-th allocation to fail  fault injection
  testing_fail_call        (n) arms the n-th fallible call to fail internally
  testing_inject_fault     (handle, fault) sets a fault on a handle

A fault hook is disarmed by its last non-handle parameter's lowest allowed value (`0` for
`nth: range {min: 0}`, `NONE` as the first of `allowed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.model import Function, Param, Spec

ACCOUNTING = ("testing_live_handles", "testing_tracked_bytes")
# Disarm order matters: the call hook first, since every later call (even a disarm) counts.
FAULTS = ("testing_fail_call", "testing_fail_allocation", "testing_inject_fault")
ROLES = (*ACCOUNTING, *FAULTS)


class Hooks:
    def __init__(self, spec: Spec, declared: Mapping[str, str] = {}) -> None:  # noqa: B006
        self.spec = spec
        self.by_role: dict[str, Function] = {}
        names = {f.name for f in spec.functions}
        for role in ROLES:
            fn = next((f for f in spec.functions if f.role == role), None)
            if fn is None and declared.get(role) in names:
                fn = spec.function(declared[role])
            if fn is not None:
                self.by_role[role] = fn
        self.hook_names = {f.name for f in self.by_role.values()}

    def get(self, role: str) -> Function | None:
        return self.by_role.get(role)

    def __contains__(self, role: str) -> bool:
        return role in self.by_role

    @property
    def faults(self) -> list[Function]:
        return [self.by_role[r] for r in FAULTS if r in self.by_role]

    def is_fault(self, fn: Function) -> bool:
        return any(fn is f for f in self.faults)

    @staticmethod
    def switch(fn: Function) -> Param:
        """The parameter that arms a fault hook."""
        return [p for p in fn.params if p.direction == "in" and not p.handle][-1]

    @classmethod
    def disarm_value(cls, fn: Function) -> int:
        p = cls.switch(fn)
        if p.allowed:
            return min(a.value for a in p.allowed)
        if p.range is not None and p.range.min is not None:
            return int(p.range.min)
        return 0

    @classmethod
    def arms(cls, fn: Function, args: Mapping[str, Any]) -> bool:
        value = args.get(cls.switch(fn).name)
        return isinstance(value, int | float) and value != cls.disarm_value(fn)
