"""Ownership promises of returned pointers (`returns.ownership`).

static:   the same pointer and the same text on every call, from any thread, and the text
          behind an earlier pointer is unchanged after any later calls.
borrowed: the text stays valid and unchanged for its window (until the caller's next call
          into the library on its thread), however many calls other threads make meanwhile.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from conformance import contract
from conformance.calls import Caller, HandleRef
from conformance.negatives import cases_for
from conformance.test_threads import _raw_call, hammer
from conformance.world import World, creatable, tree_order
from generator.model import Function

SPEC = contract.load()
HOOKS = contract.hooks()
RETURNS = [f for f in SPEC.functions if f.returns.ctype.pointer and not f.returns.handle
           and f.returns.ownership in ("static", "borrowed")]
STATIC = [f for f in RETURNS if f.returns.ownership == "static"]
BORROWED = [f for f in RETURNS if f.returns.ownership == "borrowed"]
# Thread-safe functions (the failing call that gives a borrowed detail something to say).
DISTURBERS = [f for f in SPEC.functions if f.thread_safety.cls == "safe" and not f.creates
              and not f.destroys and not HOOKS.is_fault(f)]
THREADS, ROUNDS = 4, 200
CASES: dict[str, list] = {}
for _c in cases_for(SPEC):
    if _c.expect != "OK" and not isinstance(_c.value, str) and _c.value is not None:
        CASES.setdefault(_c.fn, []).append(_c)

pytestmark = [pytest.mark.isolated, pytest.mark.gpu]


def _read(caller: Caller, fn: Function, args: dict[str, Any]) -> tuple[Any, bytes | None]:
    """(the pointer as cdata, the text behind it)."""
    cargs = []
    for p in fn.params:
        v = args.get(p.name)
        if p.is_error_out:
            cargs.append(caller.ffi.new("int*", -1))
        elif isinstance(v, HandleRef):
            cargs.append(v.cdata)
        elif p.direction == "out":
            cargs.append(caller.ffi.NULL if p.nullable else caller.ffi.new(f"{p.ctype.base}*"))
        else:
            cargs.append(v)
    ptr = getattr(caller.lib, fn.name)(*cargs)
    return ptr, (None if ptr == caller.ffi.NULL else caller.ffi.string(ptr))


def _plans(world: World) -> list[tuple[Function, dict[str, Any]]]:
    """Calls one thread makes on its own handles: every function that takes only those (valid
    arguments), and each checked rule broken once (a failure writes error state)."""
    plans = []
    for f in SPEC.functions:
        if f.creates or f.destroys or HOOKS.is_fault(f) or not world.can_call(f):
            continue
        ok = world.valid_args(f)
        plans.append((f, ok))
        for c in CASES.get(f.name, []):
            plans.append((f, {**ok, c.param: c.value}))
    return plans


def _disturb(caller: Caller, world: World) -> None:
    """Many calls from other threads at once, each thread on handles of its own."""
    owned = []
    for _ in range(THREADS):
        own = World(caller, world.plugin)
        for h in tree_order(SPEC):
            if creatable(SPEC, h) and (h.parent is None or h.parent in own.handles):
                own.handles[h.name] = own.create(h)
        owned.append((own, _plans(own)))

    def body(i: int) -> None:
        plans = owned[i][1]
        for k in range(ROUNDS):
            f, args = plans[(i + k) % len(plans)]
            _raw_call(caller, f, args)

    if any(plans for _, plans in owned):
        hammer(THREADS, body)
    for own, _ in owned:
        own.teardown()


@pytest.mark.parametrize("fn", STATIC, ids=lambda f: f.name)
def test_static_result_is_stable_across_calls_and_threads(fn, caller, rules, world):
    rule = f"OWN-{fn.name}-static"
    if not world.can_call(fn):
        pytest.skip(f"{fn.name} needs a handle the suite cannot create from the spec")
    args = world.valid_args(fn)
    caller.call(fn.name, **args)  # recorded for the replay, checked like every call
    ptr, text = _read(caller, fn, args)
    if text is None:
        pytest.skip(f"{fn.name} returned NULL for valid arguments (nothing to hold)")
    _disturb(caller, world)
    again, text2 = _read(caller, fn, args)
    held = caller.ffi.string(ptr)
    seen: list[tuple[Any, bytes | None]] = []
    t = threading.Thread(target=lambda: seen.append(_read(caller, fn, args)))
    t.start()
    t.join(20)
    other_ptr, other_text = seen[0] if seen else (None, None)
    if held != text:
        raise caller.violation(rule, f"the text behind an earlier {fn.name} result changed from "
                               f"{text!r} to {held!r} after later calls")
    if again != ptr or text2 != text:
        raise caller.violation(rule, f"{fn.name} returned {text2!r} at another address after later "
                               f"calls (first {text!r})")
    if other_ptr != ptr or other_text != text:
        raise caller.violation(rule, f"{fn.name} from another thread returned {other_text!r} at "
                               f"another address (this thread: {text!r})")


@pytest.mark.parametrize("fn", BORROWED, ids=lambda f: f.name)
def test_borrowed_result_is_valid_for_its_window(fn, caller, rules, world):
    rule = f"OWN-{fn.name}-borrowed"
    if not world.can_call(fn):
        pytest.skip(f"{fn.name} needs a handle the suite cannot create from the spec")
    args = world.valid_args(fn)
    # Two states to hold: as the fixtures left it (no failure yet), then right after a broken
    # call on a related handle (an error text). Other threads' failures must show in neither.
    related = {p.handle for p in fn.handle_params}
    related |= {h.name for h in SPEC.handles if set(SPEC.ancestors(h.name)) & related} \
        if hasattr(SPEC, "ancestors") else set()
    failing = [(f, a) for f, a in _plans(world)
               if a != world.valid_args(f) and (not related or {p.handle for p in f.handle_params} & related)]
    held_any = False
    for before in [None, *failing[:1]]:
        if before is not None:
            _raw_call(caller, *before)
        ptr, text = _read(caller, fn, args)
        if text is None:
            continue
        held_any = True
        # Inside the window: no call on this thread until the others are done; the text is
        # read again and again while they run.
        others = threading.Thread(target=_disturb, args=(caller, world))
        others.start()
        held = text
        while others.is_alive() and held == text:
            held = caller.ffi.string(ptr)
        others.join()
        if held == text:
            held = caller.ffi.string(ptr)
        if held != text:
            raise caller.violation(rule, f"while other threads called into the library, the text "
                                   f"{fn.name} returned on this thread changed from {text!r} to "
                                   f"{held!r}")
    if not held_any:
        pytest.skip(f"{fn.name} returned NULL for valid arguments (nothing to hold)")
