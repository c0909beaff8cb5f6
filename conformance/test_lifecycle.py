"""Handle lifecycles as one Hypothesis state machine generated from the spec's `handles:` tree,
at any depth.

Each handle type gets a bundle, a creator rule (under any handle of its parent type, live or
destroyed), a use rule, a destroy rule, and destroy(NULL). Bundles hold every handle ever
created, live or not (destroy does not consume them), so the machine also uses and destroys
handles after they are gone. Liveness is tracked in a plain-Python model by object identity,
never by handle value (values may be reused). The cascade is the spec's: destroying a handle
destroys its live descendants. With the `testing_live_handles` hook the library's count is
compared with the model after every step; with `testing_tracked_bytes` the bytes return to
their baseline once nothing is alive.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from conformance import contract
from conformance.calls import NULL, Caller, HandleRef, channel_kind
from conformance.negatives import checked, default_violation
from conformance.world import World, creatable, tree_order
from generator.model import Function, Handle, Spec

SPEC = contract.load()
HOOKS = contract.hooks()
TYPES = [h for h in tree_order(SPEC) if creatable(SPEC, h)
         and (h.parent is None or any(h.parent == t.name for t in tree_order(SPEC)))]
REJECT = default_violation(SPEC)

pytestmark = pytest.mark.isolated


def user_of(spec: Spec, h: Handle) -> Function | None:
    """A function that uses only this handle and reports through its error channel: it must
    succeed on a live handle (with valid other arguments) and reject a destroyed one. Queries
    taking nothing but the handle are preferred: they change no state."""
    candidates = [f for f in spec.functions
                  if channel_kind(f) in ("out_param", "status") and f.fallible and not f.destroys and not f.creates
                  and [p.handle for p in f.params if p.handle] == [h.name]
                  and f not in HOOKS.by_role.values()]
    pure = [f for f in candidates
            if all(p.handle or p.is_error_out or p.direction == "out" for p in f.params)]
    return (pure or candidates or [None])[0]


class _Dead:
    """A creation that was refused (its parent was already destroyed)."""

    def __init__(self, type_: str) -> None:
        self.type = type_


def machine_for(caller: Caller, world: World) -> type[RuleBasedStateMachine]:
    live_hook = HOOKS.get("testing_live_handles")
    bytes_hook = HOOKS.get("testing_tracked_bytes")
    bundles = {h.name: Bundle(h.name) for h in TYPES}

    def count(fn: Function | None) -> int | None:
        return caller.call(fn.name).ret if fn is not None else None

    class Lifecycles(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            caller.begin_example()
            self.live: dict[int, HandleRef] = {}  # id(HandleRef) -> handle: the model
            self.parent: dict[int, HandleRef] = {}
            self.made: list[HandleRef] = []  # keeps every handle object alive: ids stay unique
            self.failed = False
            self.base_handles = count(live_hook)
            self.base_bytes = count(bytes_hook)

        def fail(self, rule_id: str, message: str) -> Exception:
            self.failed = True  # teardown then only cleans up: the first finding stays the report
            return caller.violation(rule_id, message)

        # ---------------------------------------------------------------- the model
        def is_live(self, h: HandleRef) -> bool:
            return id(h) in self.live

        def descendants(self, h: HandleRef) -> list[HandleRef]:
            out = []
            for child in [c for c in self.live.values() if self.parent.get(id(c)) is h]:
                out += [child, *self.descendants(child)]
            return out

        def kill(self, h: HandleRef) -> None:
            for d in self.descendants(h):
                self.live.pop(id(d), None)
            self.live.pop(id(h), None)

        # ---------------------------------------------------------------- actions
        def create(self, h: Handle, parent: Any) -> Any:
            if isinstance(parent, _Dead):
                return _Dead(h.name)
            fn = SPEC.function(h.created_by)
            handles = dict(world.handles)
            if parent is not None:
                handles[parent.type] = parent
            args = World(caller, world.plugin, handles=handles).valid_args(fn)
            if parent is not None and not self.is_live(parent) and not CHECKED[parent.type]:
                return _Dead(h.name)  # using a destroyed handle is undefined behaviour here
            o = caller.call(fn.name, **args)
            if parent is not None and not self.is_live(parent):
                if o.handle is not None or (REJECT and caller.code_key(o.code) != REJECT) or o.ok:
                    raise self.fail(f"HANDLE-{parent.type}-use-after-destroy",
                                           f"{fn.name} under destroyed {parent.name} gave "
                                           f"{caller.code_key(o.code)} / {o.ret!r}, expected "
                                           f"{REJECT or 'a failure'} and NULL")
                return _Dead(h.name)
            made = o.handle
            if made is None or not o.ok:
                raise self.fail(f"HANDLE-{h.name}-lifecycle", f"{fn.name} under a live parent "
                                f"failed: {caller.code_key(o.code)} {o.detail}")
            self.live[id(made)] = made
            self.made.append(made)
            if parent is not None:
                self.parent[id(made)] = parent
            return made

        def use(self, h: Any) -> None:
            if isinstance(h, _Dead) or not self.is_live(h) and not CHECKED[h.type]:
                return
            fn = USERS.get(h.type)
            if fn is None:
                return
            args = World(caller, world.plugin, handles={**world.handles, h.type: h}).valid_args(fn)
            o = caller.call(fn.name, **args)
            if self.is_live(h) and not o.ok:
                raise self.fail(f"HANDLE-{h.type}-lifecycle",
                                f"{fn.name} on live {h.name} gave {caller.code_key(o.code)}")
            if not self.is_live(h) and (o.ok or REJECT and caller.code_key(o.code) != REJECT):
                raise self.fail(f"HANDLE-{h.type}-use-after-destroy",
                                f"{fn.name} on destroyed {h.name} gave {caller.code_key(o.code)}")

        def destroy(self, h: Any) -> None:
            if isinstance(h, _Dead) or not self.is_live(h) and not CHECKED[h.type]:
                return  # a second destroy is undefined behaviour here: not exercised
            fn = SPEC.function(SPEC.handle(h.type).destroyed_by)
            before = count(live_hook)
            gone = [h, *self.descendants(h)] if self.is_live(h) else []
            caller.trace.rule(f"HANDLE-{h.type}-destroy-noop" if not gone else f"HANDLE-{h.type}-lifecycle")
            caller.call(fn.name, **{fn.handle_params[0].name: h})
            self.kill(h)
            after = count(live_hook)
            if before is None:
                return
            if not gone and after != before:
                raise self.fail(f"HANDLE-{h.type}-destroy-noop",
                                f"destroying the already destroyed {h.name} changed the "
                                f"live count {before} -> {after}")
            if gone and before - after != len(gone):
                survivors = [d for d in gone[1:] if self.still_usable(d)]
                child = (survivors or gone[1:] or [None])[0]
                rule_id = (f"HANDLE-{child.type}-parent-cascade" if child is not None and
                           before - after < len(gone) else f"HANDLE-{h.type}-lifecycle")
                raise self.fail(rule_id, f"destroying {h.name} with {len(gone) - 1} live "
                                f"descendant(s) moved the live count {before} -> {after}")

        def subtree(self, h: Handle, parent: Any) -> Any:
            """`h` under `parent`, and under it one handle of every descendant type."""
            made = self.create(h, parent)
            if not isinstance(made, _Dead):
                for child in CHILDREN[h.name]:
                    self.subtree(child, made)
            return made

        def cascade(self, h: Handle, parent: Any) -> None:
            """Create a whole subtree and destroy its top: every level must go (the count check
            in destroy() names the child type whose cascade is missing)."""
            top = self.subtree(h, parent)
            caller.trace.rule(f"HANDLE-{CHILDREN[h.name][0].name}-parent-cascade")
            self.destroy(top)

        def still_usable(self, h: HandleRef) -> bool:
            """A handle the cascade should have destroyed that its user still accepts."""
            fn = USERS.get(h.type)
            if fn is None:
                return False
            args = World(caller, world.plugin, handles={**world.handles, h.type: h}).valid_args(fn)
            return caller.call(fn.name, **args).ok

        @rule(kind=st.sampled_from([h.name for h in TYPES]))
        def destroy_null(self, kind: str) -> None:
            fn = SPEC.function(SPEC.handle(kind).destroyed_by)
            before = count(live_hook)
            caller.trace.rule(f"HANDLE-{kind}-destroy-noop")
            caller.call(fn.name, **{fn.handle_params[0].name: NULL})
            if count(live_hook) != before:
                raise self.fail(f"HANDLE-{kind}-destroy-noop", f"{fn.name}(NULL) destroyed something")

        # ---------------------------------------------------------------- invariants
        @invariant()
        def live_handles_match_the_model(self) -> None:
            if live_hook is None:
                return
            got, want = count(live_hook), self.base_handles + len(self.live)
            if got != want:
                kinds = sorted(h.type for h in self.live.values())
                raise self.fail(f"HANDLE-{TYPES[0].name}-lifecycle",
                                f"the library has {got} live handles, the model {want} "
                                f"(baseline {self.base_handles} + {kinds})")

        @invariant()
        def tracked_bytes_back_at_baseline_when_nothing_lives(self) -> None:
            if bytes_hook is not None and not self.live and count(bytes_hook) != self.base_bytes:
                raise self.fail("RES-baseline", f"nothing the machine created is alive, yet "
                                f"tracked bytes are {count(bytes_hook)}, baseline {self.base_bytes}")

        def teardown(self) -> None:
            failed = self.failed
            for h in list(self.live.values()):
                if self.is_live(h) and self.parent.get(id(h)) is None:
                    if failed:
                        fn = SPEC.function(SPEC.handle(h.type).destroyed_by)
                        caller.call(fn.name, **{fn.handle_params[0].name: h})
                        self.kill(h)
                    else:
                        self.destroy(h)
            if not failed:
                self.live_handles_match_the_model()
                self.tracked_bytes_back_at_baseline_when_nothing_lives()

    # One creator, user and destroyer rule per handle type, generated from the tree.
    for h in TYPES:
        target = bundles[h.name]
        if h.parent is None:
            def create(self, h=h):
                return self.create(h, None)
            setattr(Lifecycles, f"create_{h.name}", rule(target=target)(create))
        else:
            def create_under(self, parent, h=h):
                return self.create(h, parent)
            setattr(Lifecycles, f"create_{h.name}",
                    rule(target=target, parent=bundles[h.parent])(create_under))
        setattr(Lifecycles, f"use_{h.name}", rule(h=target)(lambda self, h: self.use(h)))
        setattr(Lifecycles, f"destroy_{h.name}", rule(h=target)(lambda self, h: self.destroy(h)))
        if CHILDREN[h.name]:  # a parent type: its cascade, whatever the depth below it
            if h.parent is None:
                setattr(Lifecycles, f"cascade_{h.name}", rule()(lambda self, h=h: self.cascade(h, None)))
            else:
                def cascade_under(self, parent, h=h):
                    self.cascade(h, parent)
                setattr(Lifecycles, f"cascade_{h.name}", rule(parent=bundles[h.parent])(cascade_under))
    for name, b in bundles.items():
        setattr(Lifecycles, f"bundle_{name}", b)
    return Lifecycles


USERS = {h.name: f for h in TYPES if (f := user_of(SPEC, h)) is not None}
CHILDREN = {h.name: [c for c in TYPES if c.parent == h.name] for h in TYPES}
# Whether a destroyed or forged handle of the type is a checked rule (rejected with a code) or
# a precondition (undefined behaviour: the machine then never passes a destroyed one).
CHECKED = {h.name: all(checked(p) for f in SPEC.functions for p in f.params
                       if p.handle == h.name and p.direction == "in") for h in TYPES}


@pytest.mark.gpu
def test_handle_lifecycles(caller, rules, world):
    # `world` proves handles can be created here and leaves one of each type as background.
    if not TYPES:
        pytest.skip("the spec declares no handle type the suite can create")
    machine = machine_for(caller, world.build() if hasattr(world, "build") else world)
    run_state_machine_as_test(machine, settings=settings(settings.default))
