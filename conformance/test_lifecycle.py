"""Handle lifecycles as one Hypothesis state machine over the spec's `handles:` tree.

Bundles hold every handle ever created, live or not (destroy does not consume them, so the
machine can use and destroy them again afterwards). Liveness is tracked in a plain-Python model
by object identity, never by handle value (values may be reused: Schemathesis #3588). Creators,
users and destroyers come from the spec (created_by, destroyed_by, parent); invariants compare
the library's live-handle and tracked-byte counters with the model.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from conformance import contract
from conformance.calls import Caller, HandleRef

SPEC = contract.load()
PARENT = {h.name: h.parent for h in SPEC.handles}
DESTROYER = {h.name: h.destroyed_by for h in SPEC.handles}
# One non-destroying user per handle type: a fallible function taking only that handle.
USER = {h.name: next(f.name for f in SPEC.functions if f.fallible and f.has_error_channel and
                     [p.handle for p in f.params if p.handle] == [h.name] and not f.destroys and
                     all(p.handle or p.is_error_out or p.direction == "out" for p in f.params))
        for h in SPEC.handles}

pytestmark = pytest.mark.isolated


def machine_for(caller: Caller, model_path: bytes) -> type[RuleBasedStateMachine]:
    class Lifecycles(RuleBasedStateMachine):
        contexts = Bundle("CudaContext")
        models = Bundle("CudaModel")
        results = Bundle("InferenceResult")

        def __init__(self) -> None:
            super().__init__()
            caller.trace.begin_example()
            self.live: dict[int, HandleRef] = {}  # id(HandleRef) -> handle, the model
            self.parent: dict[int, HandleRef] = {}
            self.weights: dict[int, int] = {}
            self.base_handles = caller.call("cuda_testing_live_handles").ret
            self.base_bytes = caller.call("cuda_testing_tracked_bytes").ret

        # -------------------------------------------------------------- model helpers
        def is_live(self, h: HandleRef) -> bool:
            return id(h) in self.live

        def kill(self, h: HandleRef) -> None:
            """Destroying a handle destroys its live descendants first (the spec's cascade)."""
            for child in [c for c in self.live.values() if self.parent.get(id(c)) is h]:
                self.kill(child)
            self.live.pop(id(h), None)

        def created(self, h: HandleRef | None, parent: HandleRef | None, code: int | None):
            expect_ok = parent is None or self.is_live(parent)
            if expect_ok and (h is None or code != 0):
                raise caller.violation(f"HANDLE-{self.type_of(parent)}-lifecycle" if parent else
                                       "HANDLE-CudaContext-lifecycle",
                                       f"creating a child of a live handle failed: {caller.code_key(code)}")
            if not expect_ok:
                if h is not None or caller.code_key(code) != "INVALID_PARAMETER":
                    raise caller.violation(f"HANDLE-{parent.type}-use-after-destroy",
                                           f"creating under destroyed {parent.name} gave "
                                           f"{caller.code_key(code)}, expected INVALID_PARAMETER")
                return None
            self.live[id(h)] = h
            if parent is not None:
                self.parent[id(h)] = parent
            return h

        @staticmethod
        def type_of(h):
            return h.type if h is not None else "CudaContext"

        # -------------------------------------------------------------- creators
        @rule(target=contexts)
        def init(self):
            o = caller.call("cuda_init", gpu_device=0)
            return self.created(o.ret, None, o.code) or _Dead("CudaContext")

        @rule(target=models, ctx=contexts)
        def load(self, ctx):
            if isinstance(ctx, _Dead):
                return _Dead("CudaModel")
            o = caller.call("cuda_load_model", ctx=ctx, model_path=model_path)
            h = self.created(o.ret, ctx, o.code)
            if h is None:
                return _Dead("CudaModel")
            self.weights[id(h)] = o.outs["vram_bytes_used"]
            return h

        @rule(target=results, model=models, max_tokens=st.integers(1, 64))
        def start(self, model, max_tokens):
            if isinstance(model, _Dead):
                return _Dead("InferenceResult")
            o = caller.call("cuda_inference_start", model=model, prompt=b"Hello",
                            max_tokens=max_tokens, temperature=0.0, seed=1)
            return self.created(o.ret, model, o.code) or _Dead("InferenceResult")

        # -------------------------------------------------------------- users
        def use(self, h):
            if isinstance(h, _Dead):
                return
            fn = USER[h.type]
            o = caller.call(fn, **{next(p.name for p in SPEC.function(fn).params if p.handle): h})
            if self.is_live(h) and o.code != 0:
                raise caller.violation(f"HANDLE-{h.type}-lifecycle",
                                       f"{fn} on live {h.name} gave {caller.code_key(o.code)}")
            if not self.is_live(h) and caller.code_key(o.code) != "INVALID_PARAMETER":
                raise caller.violation(f"HANDLE-{h.type}-use-after-destroy",
                                       f"{fn} on destroyed {h.name} gave {caller.code_key(o.code)}")

        @rule(h=contexts)
        def use_context(self, h):
            self.use(h)

        @rule(h=models)
        def use_model(self, h):
            self.use(h)
            if not isinstance(h, _Dead) and self.is_live(h):
                got = caller.call("cuda_model_get_vram_usage", model=h).ret
                if got != self.weights[id(h)]:
                    raise caller.violation("SEM-vram-usage", f"{h.name} reports {got} bytes, "
                                           f"load said {self.weights[id(h)]}")

        @rule(h=results)
        def next_token(self, h):
            if isinstance(h, _Dead):
                return
            o = caller.call("cuda_inference_next_token", result=h)
            if not self.is_live(h) and caller.code_key(o.code) != "INVALID_PARAMETER":
                raise caller.violation("HANDLE-InferenceResult-use-after-destroy",
                                       f"next_token on destroyed {h.name} gave {caller.code_key(o.code)}")

        # -------------------------------------------------------------- destroyers
        def destroy(self, h):
            if isinstance(h, _Dead):
                return
            before = caller.call("cuda_testing_live_handles").ret
            caller.call(DESTROYER[h.type], **{next(p.name for p in SPEC.function(
                DESTROYER[h.type]).params): h})
            was_live = self.is_live(h)
            self.kill(h)
            after = caller.call("cuda_testing_live_handles").ret
            if not was_live and after != before:
                raise caller.violation(f"HANDLE-{h.type}-destroy-noop",
                                       f"destroying the already destroyed {h.name} changed the "
                                       f"live count {before} -> {after}")

        @rule(h=contexts)
        def destroy_context(self, h):
            self.destroy(h)

        @rule(h=models)
        def destroy_model(self, h):
            self.destroy(h)

        @rule(h=results)
        def destroy_result(self, h):
            self.destroy(h)

        @rule(kind=st.sampled_from(sorted(DESTROYER)))
        def destroy_null(self, kind):
            before = caller.call("cuda_testing_live_handles").ret
            fn = SPEC.function(DESTROYER[kind])
            from conformance.calls import NULL
            caller.call(fn.name, **{fn.params[0].name: NULL})
            if caller.call("cuda_testing_live_handles").ret != before:
                raise caller.violation(f"HANDLE-{kind}-destroy-noop", f"{fn.name}(NULL) destroyed something")

        # -------------------------------------------------------------- invariants
        @invariant()
        def live_handles_match_the_model(self):
            got = caller.call("cuda_testing_live_handles").ret
            want = self.base_handles + len(self.live)
            if got != want:
                kinds = sorted(h.type for h in self.live.values())
                raise caller.violation("HANDLE-CudaModel-parent-cascade" if got > want else
                                       "HANDLE-CudaContext-lifecycle",
                                       f"the library has {got} live handles, the model {want} "
                                       f"(baseline {self.base_handles} + {kinds})")

        @invariant()
        def tracked_bytes_cover_live_weights(self):
            got = caller.call("cuda_testing_tracked_bytes").ret
            weights = sum(self.weights[k] for k in self.live if k in self.weights)
            if got < self.base_bytes + weights or (not self.live and got != self.base_bytes):
                raise caller.violation("RES-baseline", f"tracked bytes {got}; live weights "
                                       f"{weights} over a baseline of {self.base_bytes}")
            per_ctx = sum(caller.call("cuda_get_process_vram_usage", ctx=h).ret
                          for h in self.live.values() if h.type == "CudaContext")
            if per_ctx != got - self.base_bytes:
                raise caller.violation("SEM-process-vram", f"contexts account for {per_ctx} bytes, "
                                       f"the library tracks {got - self.base_bytes}")

        def teardown(self):
            for h in list(self.live.values()):
                if h.type == "CudaContext" and self.is_live(h):
                    caller.call("cuda_destroy", ctx=h)
                    self.kill(h)
            self.live_handles_match_the_model()
            self.tracked_bytes_cover_live_weights()

    return Lifecycles


class _Dead:
    """A creation that was refused (its parent was already destroyed)."""

    def __init__(self, type_: str):
        self.type = type_


@pytest.mark.gpu
def test_handle_lifecycles(caller, rules, models, world):
    # `world` proves a device exists and leaves a live context as background noise.
    machine = machine_for(caller, bytes(models["tiny"]))
    run_state_machine_as_test(machine, settings=settings(settings.default))
