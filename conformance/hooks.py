"""The testing hooks a spec declares by role, and the known state every example starts from.

Roles (all optional; a check that needs one runs only when the spec declares it). The suite
finds a hook only by its `role:` in the spec, never by its name:

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
from generator.roles import ACCOUNTING_ROLES, FAULT_ROLES, TESTING_ROLES

ACCOUNTING = ACCOUNTING_ROLES
# Disarm order matters: the call hook first, since every later call (even a disarm) counts.
FAULTS = FAULT_ROLES
ROLES = TESTING_ROLES


class HookShapeError(ValueError):
    """A function holds a testing role its signature cannot serve."""


def shape_problem(role: str, fn: Function) -> str | None:
    """Why `fn` cannot serve as the `role` hook, or None."""
    ins = [p for p in fn.params if p.direction == "in"]
    if role in ACCOUNTING:
        if ins or not fn.returns.ctype.is_integer:
            return "an accounting hook takes no argument and returns an integer count"
        return None
    switch = [p for p in ins if not p.handle]
    if not switch or not switch[-1].ctype.is_integer:
        return "a fault hook takes an integer that arms it (its lowest allowed value disarms)"
    if role == "testing_inject_fault" and not any(p.handle for p in ins):
        return "testing_inject_fault takes the handle the fault is set on"
    return None


class Hooks:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.by_role: dict[str, Function] = {}
        problems = []
        for role in ROLES:
            fn = next((f for f in spec.functions if f.role == role), None)
            if fn is None:
                continue
            why = shape_problem(role, fn)
            if why is not None:
                problems.append(f"{fn.location}: {fn.name} has `role: {role}`, but {why}; fix "
                                f"its signature or remove the role")
            self.by_role[role] = fn
        if problems:
            raise HookShapeError("\n".join(problems))
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
