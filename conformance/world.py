"""Live fixtures for a test: a context, a model and an inference, plus stale and forged handles.

Also the one place that says what a *valid* argument is for the parameters whose meaning the
spec cannot express as a rule (which file is a model, what a prompt looks like); every other
valid value is derived from the parameter's range or allowed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.calls import OUT, Caller, Forged, HandleRef
from generator.model import Function, Param

# Values the spec cannot derive: a loadable model and a prompt. Everything else comes from
# ranges and allowed values.
PROMPT = b"Hello, world"


class NoDevice(Exception):
    """cuda_init found no usable device (e.g. the cuda build on a machine without a GPU)."""


@dataclass
class World:
    caller: Caller
    models: dict[str, Path]
    ctx: HandleRef
    model: HandleRef
    result: HandleRef
    stale: dict[str, HandleRef] = field(default_factory=dict)

    @classmethod
    def build(cls, caller: Caller, models: dict[str, Path]) -> World:
        o = caller.call("cuda_init", gpu_device=0)
        if o.ret is None:
            n = caller.library.device_count
            raise NoDevice(f"no GPU: cuda_init(0) gave {caller.code_key(o.code)} and "
                           f"cuda_get_device_count() is {n} for {caller.library.path}")
        ctx = o.ret
        model = caller.call("cuda_load_model", ctx=ctx, model_path=bytes(models["tiny"])).ret
        assert model is not None, caller.violation(
            "FN-cuda_load_model-returns", f"the test model {models['tiny']} did not load")
        result = caller.call("cuda_inference_start", model=model, prompt=PROMPT, max_tokens=8,
                             temperature=0.0, seed=1).ret
        assert result is not None, "cuda_inference_start failed on valid arguments"
        world = cls(caller, models, ctx, model, result)
        # Stale handles: created and destroyed, so their values were once valid.
        ctx2 = caller.call("cuda_init", gpu_device=0).ret
        model2 = caller.call("cuda_load_model", ctx=ctx, model_path=bytes(models["tiny"])).ret
        result2 = caller.call("cuda_inference_start", model=model, prompt=PROMPT, max_tokens=8,
                              temperature=0.0, seed=1).ret
        caller.call("cuda_inference_free", result=result2)
        caller.call("cuda_unload_model", model=model2)
        caller.call("cuda_destroy", ctx=ctx2)
        world.stale = {"CudaContext": ctx2, "CudaModel": model2, "InferenceResult": result2}
        caller.trace.end_prelude()
        return world

    def live(self, handle_type: str) -> HandleRef:
        return {"CudaContext": self.ctx, "CudaModel": self.model,
                "InferenceResult": self.result}[handle_type]

    def forged(self, handle_type: str) -> list[Forged]:
        """Values never issued: pointer-like garbage, and live handles of another type."""
        out = [Forged(handle_type, 0xDEADBEEF000), Forged(handle_type, 0x1),
               Forged(handle_type, 0xFFFFFFFFFFFFFFF0)]
        for other in ("CudaContext", "CudaModel", "InferenceResult"):
            if other != handle_type:
                out.append(Forged(handle_type, self.live(other).value))
        return out

    def valid_args(self, fn: Function) -> dict[str, Any]:
        return {p.name: self.valid_value(fn, p) for p in fn.params
                if p.direction == "in" and not _is_capacity(fn, p)}

    def valid_value(self, fn: Function, p: Param) -> Any:
        if p.handle:
            return self.live(p.handle)
        if p.ctype.is_string:
            return bytes(self.models["tiny"]) if p.name == "model_path" else PROMPT
        if p.allowed:
            return p.allowed[0].value
        if p.range is not None:
            if p.ctype.is_float:
                return float(p.range.min if p.range.min is not None else 0.0)
            lo = p.range.min if p.range.min is not None else 0
            return int(min(max(lo, 8), p.range.max)) if p.range.max is not None else int(lo)
        if p.ctype.is_float:
            return 0.5
        return 42 if p.name == "seed" else 0

    def teardown(self) -> None:
        self.caller.call("cuda_destroy", ctx=self.ctx)


def _is_capacity(fn: Function, p: Param) -> bool:
    return any(q.len == p.name for q in fn.params)


__all__ = ["OUT", "World", "NoDevice"]


class LazyWorld:
    """A World built on first use, which for isolated tests is inside the forked child.

    The test process itself must never initialise the device: a CUDA runtime initialised in
    a parent cannot be used by the children it forks (cudaErrorInitializationError), so a
    world built in the parent would break every isolated test after it."""

    def __init__(self, caller: Caller, models: dict[str, Path]) -> None:
        self._args = (caller, models)
        self._world: World | None = None

    def build(self) -> World:
        if self._world is None:
            self._world = World.build(*self._args)
        return self._world

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.build(), name)

    def teardown(self) -> None:
        if self._world is not None:
            self._world.teardown()
            self._world = None
