"""The generated Python bindings on the host backend: every function, every exception class,
bad input, and libraries that must be refused at load."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from bindings_support import shim_library

import worker_ffi
from generator.spec import load_spec

REPO = Path(__file__).resolve().parent.parent


# -- loading and the library object --

def test_load_checks_the_contract_and_caches(lib: worker_ffi.Library) -> None:
    version = load_spec(REPO / "spec" / "worker_ffi.yaml").interface.version
    assert lib.contract_version() == worker_ffi.CONTRACT_VERSION == version
    assert lib.contract_hash() == worker_ffi.CONTRACT_HASH
    assert len(lib.contract_hash()) == 64
    assert worker_ffi.load(path=lib.path) is lib if lib.mode == "abi" else worker_ffi.load() is lib


def test_default_load_is_api_mode() -> None:
    lib = worker_ffi.load()
    assert lib.mode == "api" and lib.backend == "host"
    assert lib.path.endswith(".so") and "_native" in lib.path


def test_library_functions(lib: worker_ffi.Library) -> None:
    assert lib.get_device_count() == 1
    for info in worker_ffi.ERRORS.values():
        assert lib.error_message(info.code) == info.message
    assert lib.error_message(12345) == "Unrecognized error code"
    assert lib.last_error_detail() == ""
    assert lib.testing_tracked_bytes() >= 0 and lib.testing_live_handles() >= 0


def test_every_spec_function_is_bound() -> None:
    cdef = Path(worker_ffi.__file__).with_name("_cdef.h").read_text()
    declared = {line.split("(")[0].split()[-1].lstrip("*") for line in cdef.splitlines()
                if line.startswith(("C", "I", "v", "i", "u", "b", "c")) and "(" in line}
    assert set(worker_ffi.FUNCTIONS) == declared
    classes = {"Library": worker_ffi.Library, "Context": worker_ffi.Context,
               "Model": worker_ffi.Model, "Inference": worker_ffi.Inference}
    for name, info in worker_ffi.FUNCTIONS.items():
        assert info.name == name
        assert info.codes == {worker_ffi.ERRORS[k].code for k in info.errors}
        if info.python_name == "close":
            assert classes[info.receiver]._destroy_name == name
        else:
            assert callable(getattr(classes[info.receiver], info.python_name)), name
            doc = getattr(classes[info.receiver], info.python_name).__doc__
            assert info.doc.split(".")[0] in doc and (name in doc or info.deprecated)
    assert worker_ffi.FUNCTIONS["cuda_get_vram_usage"].deprecated


# -- every function through the bindings --

def test_context_model_and_health(lib: worker_ffi.Library, ctx: worker_ffi.Context,
                                  tiny: str) -> None:
    assert ctx.get_process_vram_usage() == 0
    assert ctx.check_device_health() is True
    with ctx.load_model(Path(tiny)) as model:
        assert model.vram_bytes_used > 0
        assert model.get_vram_usage() == model.vram_bytes_used
        assert model.check_vram_residency() is True
        assert ctx.get_process_vram_usage() >= model.vram_bytes_used
        with model.start("hello", max_tokens=4, temperature=0.0, seed=1):
            assert ctx.get_process_vram_usage() > model.vram_bytes_used
    assert ctx.get_process_vram_usage() == 0


def test_model_shape_and_stop_reasons(model: worker_ffi.Model) -> None:
    from conformance import models

    tokens = models.vocabulary()
    assert model.get_vocab_size() == len(tokens)
    assert model.get_context_length() == models.CONTEXT_LENGTH
    with model.start("Hello", max_tokens=2, temperature=0.0, seed=1) as inf:
        assert inf.stop_reason() == worker_ffi.StopReason.RUNNING
        pieces = list(inf)
        assert len(pieces) == 2 and inf.stop_reason() == worker_ffi.StopReason.MAX_TOKENS
    with model.start("Hello", max_tokens=2048, temperature=0.0, seed=1) as inf:
        text = "".join(inf)
        assert inf.stop_reason() == worker_ffi.StopReason.EOS, text
        inf.cancel()  # after the end: the reason stays
        assert inf.stop_reason() == worker_ffi.StopReason.EOS
    with model.start("Hello", max_tokens=2048, temperature=0.0, seed=1) as inf:
        inf.cancel()
        assert inf.stop_reason() == worker_ffi.StopReason.CANCELLED


def test_deprecated_alias_matches_its_target(lib: worker_ffi.Library,
                                             model: worker_ffi.Model) -> None:
    raw = lib._cuda_get_vram_usage(model._ptr)  # type: ignore[attr-defined]
    assert raw == model.get_vram_usage()


def test_stream_is_reproducible_text(model: worker_ffi.Model) -> None:
    def run(temperature: float, seed: int) -> list[str]:
        with model.start("hello world", max_tokens=64, temperature=temperature, seed=seed) as inf:
            pieces = list(inf)
            assert inf.next_token() is None  # the sequence stays ended
            return pieces

    greedy = run(0.0, 1)
    assert greedy and all(isinstance(p, str) and p for p in greedy)
    assert run(0.0, 99) == greedy  # temperature 0 ignores the seed
    assert run(1.0, 7) == run(1.0, 7)
    spec = load_spec(Path(__file__).resolve().parents[1] / "spec" / "worker_ffi.yaml")
    capacity = spec.function("cuda_inference_next_token").param("token_out").capacity
    assert capacity is not None and all(len(p.encode()) < capacity for p in greedy)


def test_next_token_and_iteration_agree(model: worker_ffi.Model) -> None:
    with model.start("hello", max_tokens=16, temperature=0.0, seed=1) as a:
        via_iter = list(a)
    with model.start("hello", max_tokens=16, temperature=0.0, seed=1) as b:
        via_calls = []
        while (piece := b.next_token()) is not None:
            via_calls.append(piece)
    assert via_iter == via_calls


def test_testing_hooks(lib: worker_ffi.Library, ctx: worker_ffi.Context, tiny: str) -> None:
    base = lib.testing_tracked_bytes(), lib.testing_live_handles()
    model = ctx.load_model(tiny)
    assert lib.testing_tracked_bytes() == base[0] + model.vram_bytes_used
    assert lib.testing_live_handles() == base[1] + 1
    ctx.testing_inject_fault(worker_ffi.Fault.EVICT_WEIGHTS)
    assert model.check_vram_residency() is False
    assert "resident" in lib.last_error_detail() or lib.last_error_detail()
    ctx.testing_inject_fault(worker_ffi.Fault.NONE)
    model.close()


# -- exceptions: every class, with its fields --

def _fields(exc: worker_ffi.WorkerFfiError, key: str, function: str) -> None:
    info = worker_ffi.ERRORS[key]
    assert type(exc) is worker_ffi.EXCEPTIONS[key]
    assert (exc.code, exc.key, exc.function) == (info.code, key, function)
    assert (exc.http_status, exc.retriable, exc.message) == (info.http_status, info.retriable,
                                                             info.message)
    assert exc.detail and function in str(exc) and key in str(exc)
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is type(exc) and clone.detail == exc.detail


def test_invalid_device(lib: worker_ffi.Library) -> None:
    for device in (-1, 1):
        with pytest.raises(worker_ffi.InvalidDeviceError) as info:
            lib.init(device)
        _fields(info.value, "INVALID_DEVICE", "cuda_init")
        assert "gpu_device" in info.value.detail
    with pytest.raises(worker_ffi.InvalidDeviceError, match="does not fit"):
        lib.init(2**40)  # caught in Python: it would not fit a C int


def test_device_not_found(lib: worker_ffi.Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_FFI_HOST_DEVICE_COUNT", "0")
    assert lib.get_device_count() == 0
    with pytest.raises(worker_ffi.DeviceNotFoundError) as info:
        lib.init(0)
    _fields(info.value, "DEVICE_NOT_FOUND", "cuda_init")


def test_vram_oom_is_a_memory_error(lib: worker_ffi.Library, ctx: worker_ffi.Context,
                                    tiny: str) -> None:
    lib.testing_fail_allocation(1)
    with pytest.raises(MemoryError) as info:
        ctx.load_model(tiny)
    assert isinstance(info.value, worker_ffi.VramOomError) and info.value.retriable
    _fields(info.value, "VRAM_OOM", "cuda_load_model")
    assert ctx.get_process_vram_usage() == 0


def test_internal_failure_is_unknown_error(lib: worker_ffi.Library, model: worker_ffi.Model) -> None:
    lib.testing_fail_call(1)
    with pytest.raises(worker_ffi.UnknownError) as info:
        model.check_vram_residency()
    _fields(info.value, "UNKNOWN", "cuda_check_vram_residency")
    assert "injected internal failure" in info.value.detail
    assert model.check_vram_residency() is True  # fired once, then disarmed


def test_model_load_failed(ctx: worker_ffi.Context, models: Path) -> None:
    for name in ("bad_magic.gguf", "truncated_header.gguf", "does_not_exist.gguf"):
        with pytest.raises(worker_ffi.ModelLoadFailedError) as info:
            ctx.load_model(models / name)
        _fields(info.value, "MODEL_LOAD_FAILED", "cuda_load_model")
        assert name in info.value.detail


def test_vram_residency_failed(ctx: worker_ffi.Context, tiny: str) -> None:
    ctx.testing_inject_fault(worker_ffi.Fault.EVICT_WEIGHTS)
    with pytest.raises(worker_ffi.VramResidencyFailedError) as info:
        ctx.load_model(tiny)
    _fields(info.value, "VRAM_RESIDENCY_FAILED", "cuda_load_model")


def test_inference_failed(ctx: worker_ffi.Context, models: Path) -> None:
    with ctx.load_model(models / "overflow.gguf") as model:
        with model.start("hello", 4, 0.0, 1) as inf, \
                pytest.raises(worker_ffi.InferenceFailedError) as info:
            list(inf)
    _fields(info.value, "INFERENCE_FAILED", "cuda_inference_next_token")


def test_kernel_launch_failed(lib: worker_ffi.Library, ctx: worker_ffi.Context,
                              model: worker_ffi.Model) -> None:
    with model.start("hello", 8, 0.0, 1) as inf:
        ctx.testing_inject_fault(worker_ffi.Fault.DEVICE_LOST)
        assert ctx.check_device_health() is False
        assert "device lost" in lib.last_error_detail()
        with pytest.raises(worker_ffi.KernelLaunchFailedError) as info:
            inf.next_token()
    _fields(info.value, "KERNEL_LAUNCH_FAILED", "cuda_inference_next_token")


def test_invalid_parameter_is_a_value_error(model: worker_ffi.Model) -> None:
    cases = [dict(max_tokens=0), dict(max_tokens=2049), dict(temperature=math.nan),
             dict(temperature=2.5), dict(prompt="")]
    for case in cases:
        args = {"prompt": "hi", "max_tokens": 4, "temperature": 0.0, "seed": 1, **case}
        with pytest.raises(ValueError) as info:
            model.start(**args)  # type: ignore[arg-type]
        assert isinstance(info.value, worker_ffi.InvalidParameterError)
        _fields(info.value, "INVALID_PARAMETER", "cuda_inference_start")
        assert next(iter(case)) in info.value.detail


def test_cancelled_is_not_asyncio_cancelled(model: worker_ffi.Model) -> None:
    import asyncio

    with model.start("hello", 64, 0.0, 1) as inf:
        inf.cancel()
        inf.cancel()  # idempotent
        with pytest.raises(worker_ffi.CancelledError) as info:
            inf.next_token()
    _fields(info.value, "CANCELLED", "cuda_inference_next_token")
    assert not isinstance(info.value, asyncio.CancelledError)


@pytest.mark.parametrize("key", [k for k in worker_ffi.EXCEPTIONS])
def test_every_code_maps_through_check(tmp_path: Path, key: str) -> None:
    """Through a shim library: each code raises its class from `_check`, from a function
    that declares it, with the detail read right after the failing call."""
    shim = worker_ffi.load(path=shim_library(tmp_path))
    set_code = _shim_setter(shim)
    set_code(0)
    ctx = shim.init(0)
    model = ctx.load_model("x.gguf")
    inf = model.start("p", 1, 0.0, 1)
    calls = {"cuda_init": lambda: shim.init(0), "cuda_load_model": lambda: ctx.load_model("x"),
             "cuda_inference_start": lambda: model.start("p", 1, 0.0, 1),
             "cuda_inference_next_token": inf.next_token}
    code = worker_ffi.ERRORS[key].code
    function = next(name for name in calls if code in worker_ffi.FUNCTIONS[name].codes)
    set_code(code)
    with pytest.raises(worker_ffi.EXCEPTIONS[key]) as info:
        calls[function]()
    assert (info.value.code, info.value.function, info.value.detail) == (
        code, function, "shim detail")
    set_code(0)
    ctx.close()
    assert inf.closed and model.closed


def _shim_setter(shim: worker_ffi.Library):  # type: ignore[no-untyped-def]
    import ctypes

    handle = ctypes.CDLL(shim.path)
    return lambda code: handle.shim_set_code(ctypes.c_int(code))


def test_contract_violations(tmp_path: Path) -> None:
    shim = worker_ffi.load(path=shim_library(tmp_path))
    set_code = _shim_setter(shim)
    set_code(0)
    ctx = shim.init(0)
    set_code(42)  # not in the table at all
    with pytest.raises(worker_ffi.ContractViolationError) as info:
        ctx.check_device_health()
    assert (info.value.code, info.value.key) == (42, "UNKNOWN")
    assert "drifted" in str(info.value)
    set_code(3)  # MODEL_LOAD_FAILED: in the table, not declared by this function
    with pytest.raises(worker_ffi.ContractViolationError) as info:
        ctx.check_device_health()
    assert (info.value.code, info.value.key, info.value.function) == (
        3, "MODEL_LOAD_FAILED", "cuda_check_device_health")
    set_code(0)
    ctypes_value = __import__("ctypes").CDLL(shim.path).shim_set_value
    ctypes_value(__import__("ctypes").c_uint64(0))  # creators now return NULL with code 0
    with pytest.raises(worker_ffi.ContractViolationError, match="NULL with error code 0"):
        ctx.load_model("x.gguf")
    ctypes_value(__import__("ctypes").c_uint64(4096))
    ctx.close()


# -- bad input from Python --

def test_wrong_python_types(lib: worker_ffi.Library, ctx: worker_ffi.Context,
                            model: worker_ffi.Model) -> None:
    bad = [(lib.init, ("0",)), (lib.init, (1.0,)), (lib.init, (True,)),
           (ctx.load_model, (b"/x.gguf",)), (ctx.load_model, (None,)),
           (model.start, (123, 4, 0.0, 1)), (model.start, ("hi", 4.0, 0.0, 1)),
           (model.start, ("hi", 4, "hot", 1)), (model.start, ("hi", 4, 0.0, None)),
           (ctx.testing_inject_fault, ("DEVICE_LOST",)), (lib.testing_fail_allocation, ([],))]
    for func, args in bad:
        with pytest.raises(TypeError, match="must be"):
            func(*args)


def test_strings_and_ranges_checked_before_the_call(model: worker_ffi.Model) -> None:
    with pytest.raises(worker_ffi.InvalidParameterError, match="NUL character at byte 2"):
        model.start("hi\0there", 4, 0.0, 1)
    with pytest.raises(worker_ffi.InvalidParameterError, match="UTF-8"):
        model.start("bad \ud800 surrogate", 4, 0.0, 1)
    with pytest.raises(worker_ffi.InvalidParameterError, match="does not fit"):
        model.start("hi", 2**31, 0.0, 1)
    with pytest.raises(worker_ffi.InvalidParameterError, match="seed = -1"):
        model.start("hi", 4, 0.0, -1)
    with model.start("héllo 😀", 4, 1, 2**64 - 1) as inf:  # int temperature, max seed
        assert "".join(inf)


def test_out_of_range_fault_is_reported_by_the_library(ctx: worker_ffi.Context) -> None:
    with pytest.raises(worker_ffi.InvalidParameterError) as info:
        ctx.testing_inject_fault(7)
    assert "fault" in info.value.detail


# -- libraries that must be refused --

def test_missing_library_file(tmp_path: Path) -> None:
    with pytest.raises(worker_ffi.LibraryNotFoundError, match="cmake -S native") as info:
        worker_ffi.load(path=tmp_path / "libworker_ffi.so")
    assert isinstance(info.value, FileNotFoundError)


def test_not_a_library(tmp_path: Path) -> None:
    junk = tmp_path / "junk.so"
    junk.write_text("not ELF")
    with pytest.raises(worker_ffi.LibraryLoadError, match="refused"):
        worker_ffi.load(path=junk)


def test_bad_backend_and_missing_cuda(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backend"):
        worker_ffi.load(backend="tpu")
    monkeypatch.setenv("WORKER_FFI_CUDA_LIB", str(tmp_path / "none.so"))
    with pytest.raises(worker_ffi.LibraryNotFoundError, match="WORKER_FFI_CUDA_LIB.*DWORKER_FFI_BACKEND=cuda"):
        worker_ffi.load(backend="cuda")


def test_mismatched_hash_refused(tmp_path: Path) -> None:
    other = "0" * 64
    with pytest.raises(worker_ffi.ContractMismatchError) as info:
        worker_ffi.load(path=shim_library(tmp_path, digest=other))
    text = str(info.value)
    assert other in text and worker_ffi.CONTRACT_HASH in text and "cmake -S native" in text
    assert info.value.library_hash == other
    assert info.value.bindings_hash == worker_ffi.CONTRACT_HASH


def test_mismatched_version_refused(tmp_path: Path) -> None:
    with pytest.raises(worker_ffi.ContractMismatchError, match="contract 2.0.0"):
        worker_ffi.load(path=shim_library(tmp_path, version="2.0.0"))


def test_library_without_contract_symbols_refused(tmp_path: Path) -> None:
    with pytest.raises(worker_ffi.ContractMismatchError, match="does not export cuda_contract"):
        worker_ffi.load(path=shim_library(tmp_path, omit=frozenset({"cuda_contract_hash"})))


def test_library_missing_a_function_refused(tmp_path: Path) -> None:
    with pytest.raises(worker_ffi.ContractMismatchError, match="cuda_inference_cancel"):
        worker_ffi.load(path=shim_library(tmp_path, omit=frozenset({"cuda_inference_cancel"})))


def test_error_table_helpers() -> None:
    assert worker_ffi.error_for(9).key == "CANCELLED"
    unknown = worker_ffi.error_for(1234)
    assert (unknown.code, unknown.key) == (1234, "UNKNOWN")
    assert worker_ffi.exception_class(2) is worker_ffi.VramOomError
    assert issubclass(worker_ffi.HandleClosedError, ValueError)


def test_typing_sample_runs(tiny: str) -> None:
    """The sample that mypy checks also runs: greedy text of "hello", 8 tokens at most."""
    from typing_sample import run

    from conformance import models

    emb, out, tokens, eos = models.tiny_weights()
    _, want = models.reference_generate(emb, out, tokens, eos, "hello", 8, 0.0, 1)
    assert run(tiny) == want and want


def test_typing_sample_passes_mypy_strict() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                             "tests/typing_sample.py"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
