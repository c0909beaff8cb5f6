"""``python -m worker`` / ``worker-orcd``: start-up per M0-W-1110, then serve on uvicorn.

Order: open the library, initialise the context on the requested GPU, load the model, and only
then listen. A failure at any step logs the function, code, key, detail and GPU id, releases what
was created, and exits with a non-zero status.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import uvicorn

import worker_ffi

from .app import WorkerState, create_app
from .jobs import Runner

log = logging.getLogger("worker")

EXIT_LIBRARY = 2
EXIT_INIT = 3
EXIT_MODEL = 4


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, which would kill the
    process before the handles are closed. For this worker a signal is the normal way to stop:
    handle it, release the model and context, and exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="worker-orcd", description="Serve one model over HTTP/SSE on the worker FFI."
    )
    p.add_argument("--model", required=True, help="path of the GGUF model to load")
    p.add_argument("--backend", choices=["host", "cuda"], default="host")
    p.add_argument("--gpu-device", type=int, default=0, help="device ordinal (default 0)")
    p.add_argument("--port", type=int, default=8080, help="TCP port; 0 picks a free one")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--library", default=None, help="explicit path of libworker_ffi.so")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def _startup_failure(step: str, exc: BaseException, gpu_device: int) -> None:
    if isinstance(exc, worker_ffi.WorkerFfiError):
        log.error("start-up failed at %s: function=%s code=%d key=%s detail=%r gpu_device=%d",
                  step, exc.function, exc.code, exc.key, exc.detail, gpu_device)
    else:
        log.error("start-up failed at %s: %s gpu_device=%d", step, exc, gpu_device)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        lib = worker_ffi.load(backend=args.backend, path=args.library)
    except Exception as exc:  # missing library, contract mismatch: both explain the fix
        _startup_failure("load library", exc, args.gpu_device)
        return EXIT_LIBRARY
    try:
        ctx = lib.init(gpu_device=args.gpu_device)
    except worker_ffi.WorkerFfiError as exc:
        _startup_failure("cuda_init", exc, args.gpu_device)
        return EXIT_INIT
    try:
        try:
            model = ctx.load_model(os.path.abspath(args.model))
        except worker_ffi.WorkerFfiError as exc:
            _startup_failure("cuda_load_model", exc, args.gpu_device)
            return EXIT_MODEL
        log.info("model %s loaded: %d bytes of device memory on %s device %d",
                 args.model, model.vram_bytes_used, args.backend, args.gpu_device)
        runner = Runner(model, os.path.basename(args.model))
        app = create_app(WorkerState(lib, ctx, model, runner, args.backend, args.gpu_device))
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                                timeout_graceful_shutdown=5)
        _Server(config).run()
        runner.shutdown()
        return 0
    finally:
        ctx.close()  # closes the model (and any inference) first


if __name__ == "__main__":
    sys.exit(main())
