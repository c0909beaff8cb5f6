"""Live fixtures derived from the spec's handle tree: one live handle of every type (parents
first), one stale handle of every type (created, then destroyed), forged values, and a valid
value for every parameter.

Valid values come from the handles, then the plug-in (what the spec cannot state: a file
path, a statement), then the parameter's rules (allowed values, ranges), then its C type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import contract
from conformance.calls import NULL, OUT, Caller, Forged, HandleRef, fixed_value
from conformance.plugin import NotProvided, Plugin
from generator.model import Function, Handle, Param, Spec

FORGED = {"address": 0xDEADBEEF000, "small": 0x1, "high": 0xFFFFFFFFFFFFFFF0}


class NoDevice(Exception):
    """The library cannot create handles on this machine (the plug-in says why)."""


def tree_order(spec: Spec) -> list[Handle]:
    """Handle types, every parent before its children (any depth)."""
    out: list[Handle] = []
    seen: set[str] = set()

    def visit(h: Handle) -> None:
        if h.name in seen:
            return
        seen.add(h.name)
        if h.parent:
            visit(spec.handle(h.parent))
        out.append(h)

    for h in spec.handles:
        visit(h)
    return out


def creatable(spec: Spec, h: Handle) -> bool:
    """The creator returns the handle or writes it through an out-handle parameter."""
    fn = spec.function(h.created_by)
    return fn.returns.handle == h.name or getattr(fn, "created_out", None) is not None


@dataclass
class World:
    caller: Caller
    plugin: Plugin
    handles: dict[str, HandleRef] = field(default_factory=dict)
    stale: dict[str, HandleRef] = field(default_factory=dict)

    @property
    def spec(self) -> Spec:
        return self.caller.spec

    @classmethod
    def build(cls, caller: Caller, plugin: Plugin | None = None) -> World:
        world = cls(caller, plugin or contract.plugin())
        order = [h for h in tree_order(world.spec) if creatable(world.spec, h)]
        for h in order:
            if h.parent is None or h.parent in world.handles:
                world.handles[h.name] = world.create(h)
        for h in order:  # stale: once valid, now destroyed (under live parents)
            if h.name in world.handles:
                stale = world.create(h)
                destroyer = world.spec.function(h.destroyed_by)
                caller.call(destroyer.name, **{destroyer.handle_params[0].name: stale})
                world.stale[h.name] = stale
        caller.end_prelude()
        return world

    def create(self, h: Handle, **override: Any) -> HandleRef:
        fn = self.spec.function(h.created_by)
        o = self.caller.call(fn.name, **{**self.valid_args(fn), **override})
        if o.handle is None or not o.ok:
            reason = self.caller.library.unavailable
            if reason:
                raise NoDevice(f"{reason}: {fn.name} gave {self.caller.code_key(o.code)}")
            raise self.caller.violation(f"FN-{fn.name}-returns", f"{fn.name} refused valid arguments "
                                        f"with {self.caller.code_key(o.code)}: {o.detail}")
        return o.handle

    # ------------------------------------------------------------------ values
    def live(self, handle_type: str) -> HandleRef:
        return self.handles[handle_type]

    def forged(self, handle_type: str) -> dict[str, Forged]:
        """Values never issued: pointer-like garbage, and live handles of the other types."""
        out = {label: Forged(handle_type, v) for label, v in FORGED.items()}
        for other, h in self.handles.items():
            if other != handle_type:
                out[f"type:{other}"] = Forged(handle_type, h.value)
        return out

    def resolve(self, value: Any, p: Param) -> Any:
        """A symbolic negative value (`stale`, `forged:LABEL`) as this world's handle value."""
        if isinstance(value, str) and p.handle:
            if value == "stale":
                return self.stale[p.handle]
            return self.forged(p.handle)[value.split(":", 1)[1]]
        return value

    def can_call(self, fn: Function) -> bool:
        return all(p.handle in self.handles for p in fn.params if p.handle and p.direction == "in")

    def valid_args(self, fn: Function) -> dict[str, Any]:
        return {p.name: self.valid_value(fn, p) for p in fn.params
                if p.direction == "in" and not is_capacity(fn, p)}

    def valid_value(self, fn: Function, p: Param) -> Any:
        if p.handle:
            return self.live(p.handle)
        try:
            return self.plugin.valid(fn, p, self)
        except NotProvided:
            pass
        if getattr(p, "fixed", None):
            return fixed_value(self.spec, p)
        if p.is_pointer and p.nullable:
            return NULL  # NULL is valid by the spec's own word
        return derived_value(p)

    def teardown(self) -> None:
        """Destroy every live handle of the world, children before parents. Destroying only the
        roots would rely on a cascade, and not every library has one: SQLite's close_v2 defers
        while statements live (the connection and its statements would outlive the test).
        A handle a test destroyed, and the handles under it, are left alone."""
        gone: set[str] = set()
        for h in tree_order(self.spec):
            held = self.handles.get(h.name)
            if held is None or h.parent in gone or held.destroyed:
                gone.add(h.name)
        for h in reversed(tree_order(self.spec)):
            if h.name in self.handles and h.name not in gone:
                destroyer = self.spec.function(h.destroyed_by)
                self.caller.call(destroyer.name, **{destroyer.handle_params[0].name: self.handles[h.name]})


def derived_value(p: Param) -> Any:
    """A value the parameter's rules and C type accept, with no knowledge of its meaning."""
    if p.allowed:
        return p.allowed[0].value
    ct = p.ctype
    if p.range is not None:  # the lowest accepted value (the highest when unbounded below)
        bound = p.range.min if p.range.min is not None else p.range.max
        if bound is not None:
            return float(bound) if ct.is_float else int(bound)
    if ct.is_string:
        return b"x" * max(p.min_bytes or 1, 1)
    if ct.is_float:
        return 0.5
    if ct.is_bool:
        return True
    return 0


def is_capacity(fn: Function, p: Param) -> bool:
    return any(q.len == p.name for q in fn.params)


__all__ = ["OUT", "World", "NoDevice", "Path"]


class LazyWorld:
    """A World built on first use, which for isolated tests is inside the forked child.

    The test process itself never builds one: a runtime initialised in a parent (a GPU
    driver) may not be usable by the children it forks."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller
        self._world: World | None = None

    def build(self) -> World:
        if self._world is None:
            self._world = World.build(self._caller)
        return self._world

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.build(), name)

    def teardown(self) -> None:
        if self._world is not None:
            self._world.teardown()
            self._world = None
