"""Per-call overhead and streaming throughput of the generated bindings, in one process.

    python bench/bench_bindings.py [--rounds 15] [--calls 200000] [--check]

Method: every variant runs in the same process against the same loaded host library and the
same model. Rounds interleave the variants (A, B, C, A, B, C, ...) so drift (frequency
scaling, other load) hits all of them alike; each figure is the median over rounds.

* Getter: `model.get_vram_usage()` versus a raw cffi call of the same C function (as a user
  would write it, `lib.cuda_model_get_vram_usage(ptr)`, and with the function pre-bound to
  a local) and versus a hand-written ctypes binding with the same error check.
* Streaming: tokens/s of `for piece in inference` versus a raw cffi loop that calls
  `cuda_inference_next_token` with a preallocated buffer and decodes each piece to `str`.
  Only the token loop is timed (every stream is started before the clock starts and
  freed after it stops), on the tiny model (the cheapest
  step, where binding overhead shows most) and on a 4 MB model.

Targets (issue 4): getter <= 1.25x raw cffi; >= 2x faster than ctypes; stream >= 0.9x raw.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import worker_ffi
from worker_ffi import _native  # type: ignore[attr-defined]


class CtypesModel:
    """What a careful hand-written ctypes binding of the getter looks like."""

    _lib: ctypes.CDLL

    def __init__(self, lib: ctypes.CDLL, handle: int) -> None:
        self._ptr = ctypes.c_void_p(handle)
        self._fn = lib.cuda_model_get_vram_usage
        self._detail = lib.cuda_last_error_detail

    def get_vram_usage(self) -> int:
        n: int = self._fn(self._ptr)
        if n == 0:
            raise ValueError(self._detail().decode())
        return n


def ctypes_library(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path)
    lib.cuda_model_get_vram_usage.argtypes = [ctypes.c_void_p]
    lib.cuda_model_get_vram_usage.restype = ctypes.c_uint64
    lib.cuda_last_error_detail.argtypes = []
    lib.cuda_last_error_detail.restype = ctypes.c_char_p
    return lib


def per_call_ns(stmts: dict[str, str], namespace: dict[str, object], calls: int, rounds: int
                ) -> dict[str, float]:
    """Each statement is compiled by timeit into its own loop, so nothing but the call
    itself (and the loop, identical for all) is measured."""
    samples: dict[str, list[float]] = {name: [] for name in stmts}
    timers = {name: timeit.Timer(stmt, globals=namespace) for name, stmt in stmts.items()}
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(timer.timeit(number=calls) / calls * 1e9)
    return {name: statistics.median(values) for name, values in samples.items()}


def stream_tokens_per_s(model: worker_ffi.Model, rounds: int, streams: int,
                        max_tokens: int) -> dict[str, float]:
    ffi, raw = _native.ffi, _native.lib
    buf, err, null = ffi.new("char[]", 256), ffi.new("int*"), ffi.NULL
    next_token, string = raw.cuda_inference_next_token, ffi.string

    def started() -> list[worker_ffi.Inference]:
        return [model.start("hello", max_tokens, 1.0, seed) for seed in range(streams)]

    def via_iterator() -> tuple[int, float]:
        infs = started()
        pieces: list[str] = []
        t0 = time.perf_counter()
        for inf in infs:
            for piece in inf:
                pieces.append(piece)
        elapsed = time.perf_counter() - t0
        for inf in infs:
            inf.close()
        return len(pieces), elapsed

    def via_raw_cffi() -> tuple[int, float]:
        infs = started()
        ptrs = [inf._ptr for inf in infs]
        pieces: list[str] = []
        t0 = time.perf_counter()
        for ptr in ptrs:
            while next_token(ptr, buf, 256, null, err):
                pieces.append(string(buf).decode("utf-8"))
            if err[0]:
                raise RuntimeError(f"next_token failed with {err[0]}")
        elapsed = time.perf_counter() - t0
        for inf in infs:
            inf.close()
        return len(pieces), elapsed

    samples: dict[str, list[float]] = {"iterator": [], "raw cffi loop": []}
    for _ in range(rounds):
        for name, fn in (("iterator", via_iterator), ("raw cffi loop", via_raw_cffi)):
            tokens, elapsed = fn()
            samples[name].append(tokens / elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    lib = worker_ffi.load()
    assert lib.mode == "api"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "conformance.models", tmp], check=True,
                       capture_output=True)
        subprocess.run([sys.executable, "-m", "conformance.models", tmp + "/l",
                        "--large-bytes", "4000000"], check=True, capture_output=True)
        with lib.init(0) as ctx, ctx.load_model(Path(tmp) / "tiny.gguf") as model, \
                ctx.load_model(Path(tmp) / "l" / "large.gguf") as large:
            raw, ptr = _native.lib, model._ptr  # type: ignore[attr-defined]
            bound = raw.cuda_model_get_vram_usage
            handle = int(_native.ffi.cast("uintptr_t", ptr))
            ct = CtypesModel(ctypes_library(str(Path(worker_ffi.__file__).with_name(
                "libworker_ffi.so"))), handle)
            assert model.get_vram_usage() == bound(ptr) == ct.get_vram_usage()
            ns = per_call_ns({
                "wrapper model.get_vram_usage()": "model.get_vram_usage()",
                "raw cffi lib.cuda_model_get_vram_usage(p)": "lib.cuda_model_get_vram_usage(p)",
                "raw cffi, pre-bound f(p)": "f(p)",
                "ctypes hand-written binding": "ct.get_vram_usage()",
            }, {"model": model, "lib": raw, "p": ptr, "f": bound, "ct": ct},
                args.calls, args.rounds)
            tiny_tps = stream_tokens_per_s(model, args.rounds, 200, 64)
            large_tps = stream_tokens_per_s(large, max(3, args.rounds // 3), 2, 256)

    print(f"Python {sys.version.split()[0]}, medians of {args.rounds} interleaved rounds "
          f"(timeit statements, no wrapper lambdas)")
    print(f"{'getter variant':46} {'ns/call':>9}")
    for name, value in ns.items():
        print(f"{name:46} {value:9.1f}")
    wrapper = ns["wrapper model.get_vram_usage()"]
    raw_ns = ns["raw cffi lib.cuda_model_get_vram_usage(p)"]
    ratios = {
        "wrapper / raw cffi (target <= 1.25)": (wrapper / raw_ns, wrapper / raw_ns <= 1.25),
        "wrapper / raw cffi pre-bound (info)": (wrapper / ns["raw cffi, pre-bound f(p)"], True),
        "ctypes / wrapper (target >= 2.0)": (ns["ctypes hand-written binding"] / wrapper,
                                             ns["ctypes hand-written binding"] / wrapper >= 2.0),
    }
    for label, tps in (("tiny", tiny_tps), ("4 MB", large_tps)):
        print(f"stream {label:6}: iterator {tps['iterator']:12.0f} tok/s, raw cffi loop "
              f"{tps['raw cffi loop']:12.0f} tok/s")
        r = tps["iterator"] / tps["raw cffi loop"]
        ratios[f"iterator / raw loop, {label} model (target >= 0.9)"] = (r, r >= 0.9)
    ok = True
    for label, (value, passed) in ratios.items():
        ok &= passed
        print(f"{label:52} {value:6.2f}  {'ok' if passed else 'MISSED'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
