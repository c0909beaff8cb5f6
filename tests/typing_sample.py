"""A program that uses the whole public API of `worker_ffi`; `mypy --strict` must accept it
(tests/test_bindings.py runs it). It is also runnable: `python tests/typing_sample.py MODEL`."""

from __future__ import annotations

import sys
import threading

import worker_ffi
from worker_ffi import ErrorInfo, Fault, WorkerFfiError


def describe(error: WorkerFfiError) -> dict[str, object]:
    return {"code": error.code, "key": error.key, "function": error.function,
            "detail": error.detail, "http_status": error.http_status,
            "retriable": error.retriable, "message": error.message}


def run(model_path: str) -> str:
    lib: worker_ffi.Library = worker_ffi.load(backend="host")
    version: str = lib.contract_version()
    digest: str = lib.contract_hash()
    assert (version, digest) == (worker_ffi.CONTRACT_VERSION, worker_ffi.CONTRACT_HASH)
    devices: int = lib.get_device_count()
    message: str = lib.error_message(worker_ffi.ERRORS["VRAM_OOM"].code)
    row: ErrorInfo = worker_ffi.error_for(9)
    before: int = lib.testing_tracked_bytes() + lib.testing_live_handles()
    lib.testing_fail_allocation(0)
    pieces: list[str] = []
    with lib.init(gpu_device=0) as ctx:
        usage: int = ctx.get_process_vram_usage()
        healthy: bool = ctx.check_device_health()
        ctx.testing_inject_fault(Fault.NONE)
        with ctx.load_model(model_path) as model:
            used: int = model.vram_bytes_used + model.get_vram_usage()
            resident: bool = model.check_vram_residency()
            shape: tuple[int, int] = (model.get_vocab_size(), model.get_context_length())
            with model.start("hello", max_tokens=8, temperature=0.0, seed=1) as inf:
                for piece in inf:
                    pieces.append(piece)
                tail: str | None = inf.next_token()
                ended = worker_ffi.StopReason(inf.stop_reason()) in (worker_ffi.StopReason.EOS,
                                                                     worker_ffi.StopReason.MAX_TOKENS)
                canceller = threading.Thread(target=inf.cancel)
                canceller.start()
                canceller.join()
            try:
                model.start("x\0y", 1, 0.0, 1)
            except worker_ffi.InvalidParameterError as exc:
                describe(exc)
            except worker_ffi.HandleClosedError:
                pass
        closed: bool = model.closed
    detail: str = lib.last_error_detail()
    del version, devices, message, row, before, usage, healthy, used, resident, shape, tail, ended, closed, detail
    return "".join(pieces)


if __name__ == "__main__":
    print(run(sys.argv[1]))
