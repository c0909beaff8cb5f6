"""Handle lifetimes and threads through the bindings: close order, double close, use after
close, garbage collection freeing native memory, and cancel from another thread."""

from __future__ import annotations

import gc
import inspect
import threading
import weakref

import pytest

import worker_ffi


def _baseline(lib: worker_ffi.Library) -> tuple[int, int]:
    return lib.testing_tracked_bytes(), lib.testing_live_handles()


def test_closing_a_parent_closes_its_children_first(lib: worker_ffi.Library, tiny: str) -> None:
    base = _baseline(lib)
    ctx = lib.init(0)
    model = ctx.load_model(tiny)
    inf = model.start("hello", 8, 0.0, 1)
    assert lib.testing_live_handles() == base[1] + 3
    ctx.close()
    assert ctx.closed and model.closed and inf.closed
    assert _baseline(lib) == base
    with pytest.raises(worker_ffi.HandleClosedError, match="Model.get_vram_usage"):
        model.get_vram_usage()


def test_double_close_and_closed_context_manager(lib: worker_ffi.Library, tiny: str) -> None:
    base = _baseline(lib)
    with lib.init(0) as ctx:
        model = ctx.load_model(tiny)
        model.close()
        model.close()
        assert model.closed and not ctx.closed
    ctx.close()
    assert _baseline(lib) == base
    with pytest.raises(worker_ffi.HandleClosedError):
        with model:
            pass
    assert "closed" in repr(model)


def test_with_block_closes_on_exception(lib: worker_ffi.Library, tiny: str) -> None:
    base = _baseline(lib)
    with pytest.raises(RuntimeError), lib.init(0) as ctx, ctx.load_model(tiny):
        raise RuntimeError("boom")
    assert ctx.closed and _baseline(lib) == base


@pytest.mark.parametrize("kind", ["Context", "Model", "Inference"])
def test_every_method_of_a_closed_handle_raises_before_any_native_call(
        lib: worker_ffi.Library, tiny: str, kind: str) -> None:
    with lib.init(0) as ctx:
        model = ctx.load_model(tiny)
        handle = {"Context": ctx, "Model": model,
                  "Inference": model.start("hi", 4, 0.0, 1)}[kind]
        handle.close()
        live = lib.testing_live_handles()
        public = [name for name, value in inspect.getmembers(type(handle))
                  if callable(value) and not name.startswith("_") and name != "close"]
        assert public
        for name in public:
            with pytest.raises(worker_ffi.HandleClosedError, match=f"{kind}.{name}"):
                getattr(handle, name)("x", 1, 0.0, 1)  # any arguments: nothing is converted
        if isinstance(handle, worker_ffi.Inference):
            with pytest.raises(worker_ffi.HandleClosedError):
                next(iter(handle))
        assert lib.testing_live_handles() == live


def test_child_keeps_parent_alive(lib: worker_ffi.Library, tiny: str) -> None:
    base = _baseline(lib)
    ctx = lib.init(0)
    model = ctx.load_model(tiny)
    ctx_ref = weakref.ref(ctx)
    del ctx
    gc.collect()
    assert ctx_ref() is not None
    with model.start("hello", 4, 0.0, 1) as inf:
        assert "".join(inf)
    model.close()
    ctx_ref().close()  # type: ignore[union-attr]
    assert _baseline(lib) == base


def test_garbage_collected_handles_free_native_memory(lib: worker_ffi.Library,
                                                      tiny: str) -> None:
    base = _baseline(lib)

    def leak() -> None:
        ctx = lib.init(0)
        model = ctx.load_model(tiny)
        inf = model.start("hello", 64, 0.0, 1)
        inf.next_token()
        assert lib.testing_tracked_bytes() > base[0]

    leak()
    gc.collect()
    assert _baseline(lib) == base


def test_handles_in_a_reference_cycle_are_freed_once(lib: worker_ffi.Library,
                                                     tiny: str) -> None:
    base = _baseline(lib)
    for _ in range(20):
        ctx = lib.init(0)
        model = ctx.load_model(tiny)
        inf = model.start("hello", 4, 0.0, 1)
        cycle: list[object] = [ctx, model, inf]
        cycle.append(cycle)
        del ctx, model, inf, cycle
    gc.collect()
    assert _baseline(lib) == base


def test_cancel_from_another_thread_between_tokens(model: worker_ffi.Model) -> None:
    with model.start("hello world", 2048, 1.0, 3) as inf:
        first = inf.next_token()
        assert first is not None
        canceller = threading.Thread(target=inf.cancel)
        canceller.start()
        canceller.join()
        with pytest.raises(worker_ffi.CancelledError) as info:
            for _ in inf:
                pass
    assert info.value.function == "cuda_inference_next_token"


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> str:
    """About 16 MB of weights: each step takes about a millisecond and the stream does not
    reach EOS for thousands of tokens, so a cancel always lands mid-stream."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("large")
    subprocess.run([sys.executable, "-m", "conformance.models", str(out), "--large-bytes",
                    "16000000"], check=True, capture_output=True)
    return str(out / "large.gguf")


def test_cancel_while_another_thread_iterates(ctx: worker_ffi.Context, large: str) -> None:
    """The consuming thread spends its time inside native calls (the GIL is released there)
    while the main thread cancels; the stream ends with CANCELLED, not at max_tokens."""
    with ctx.load_model(large) as model, model.start("hello", 2048, 1.0, 5) as inf:
        started = threading.Event()
        outcome: list[object] = []
        count = [0]

        def consume() -> None:
            try:
                for _ in inf:
                    count[0] += 1
                    started.set()
                outcome.append("ended")
            except BaseException as exc:  # noqa: BLE001 - inspected by the main thread
                outcome.append(exc)
            finally:
                started.set()

        worker = threading.Thread(target=consume)
        worker.start()
        assert started.wait(30)
        inf.cancel()
        worker.join(30)
        assert not worker.is_alive()
    assert isinstance(outcome[0], worker_ffi.CancelledError), outcome
    assert 1 <= count[0] < 2048
