"""Helpers for tests and benchmarks: a real uvicorn server on loopback and an SSE client.

Only loopback (127.0.0.1) is used. The server runs in a background thread of the calling process
so callers can also reach the bindings' handles directly (device-memory baselines, fault hooks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from .sse import TERMINAL_EVENTS, parse_events


@dataclass
class RunningServer:
    base_url: str
    server: uvicorn.Server
    thread: threading.Thread


@contextmanager
def serve(app: Any, *, log_level: str = "warning") -> Iterator[RunningServer]:
    """Run ``app`` on uvicorn on 127.0.0.1 with a free port until the block exits."""
    # port=0 lets uvicorn bind; handing it a pre-bound socket instead loses TCP_NODELAY on the
    # accepted connections and costs every keep-alive request a 40 ms delayed-ACK stall.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level=log_level, lifespan="on",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Stream:
    """The events of one /execute response, in arrival order."""

    status: int
    events: list[tuple[str, Any]] = field(default_factory=list)
    body: Any = None  # the JSON body of a non-SSE (error) response

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    @property
    def terminal(self) -> tuple[str, Any]:
        terminals = [e for e in self.events if e[0] in TERMINAL_EVENTS]
        assert len(terminals) == 1, f"expected exactly one terminal event, got {self.names}"
        assert self.events[-1] is terminals[0], f"terminal event is not last: {self.names}"
        return terminals[0]

    @property
    def text(self) -> str:
        return "".join(data["t"] for name, data in self.events if name == "token")


def execute(client: httpx.Client, body: dict[str, Any]) -> Stream:
    """POST /execute and read the whole stream."""
    with client.stream("POST", "/execute", json=body) as response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return Stream(response.status_code, list(parse_events(response.iter_lines())))
        response.read()
        return Stream(response.status_code, body=response.json())


@dataclass
class WorkerUnderTest:
    """A worker serving ``model_path`` on loopback, with its handles reachable in-process."""

    base_url: str
    lib: Any
    ctx: Any
    model: Any
    runner: Any

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30, **kwargs)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Until no job runs (its handle is freed before its terminal event is queued)."""
        deadline = time.monotonic() + timeout
        while self.runner.active_job_id is not None:
            if time.monotonic() > deadline:
                raise AssertionError(f"job {self.runner.active_job_id} still running")
            time.sleep(0.001)


def open_library(backend: str = "host", library: str | None = None) -> Any:
    """The bindings on ``library``, ``$WORKER_FFI_LIBRARY``, the installed extension, or the
    library built in this checkout (``native/build/<backend>``), in that order."""
    import os
    from pathlib import Path

    import worker_ffi

    library = library or os.environ.get("WORKER_FFI_LIBRARY")
    if library:
        return worker_ffi.load(backend=backend, path=library)
    try:
        return worker_ffi.load(backend=backend)
    except worker_ffi.LibraryNotFoundError:
        built = Path(__file__).resolve().parent.parent / "native" / "build" / backend
        return worker_ffi.load(backend=backend, path=str(built / "libworker_ffi.so"))


@contextmanager
def worker_under_test(model_path: str, *, backend: str = "host",
                      library: str | None = None) -> Iterator[WorkerUnderTest]:
    """Open the bindings, load ``model_path`` and serve it; everything is closed at the end."""
    import os

    from .app import WorkerState, create_app
    from .jobs import Runner

    lib = open_library(backend, library)
    with lib.init(gpu_device=0) as ctx, ctx.load_model(os.path.abspath(model_path)) as model:
        runner = Runner(model, os.path.basename(model_path))
        app = create_app(WorkerState(lib, ctx, model, runner, backend, 0))
        with serve(app) as running:
            yield WorkerUnderTest(running.base_url, lib, ctx, model, runner)
        runner.shutdown()
