"""Run a risky test in a forked copy of the test process, so a crash is a finding, not a dead run.

The child inherits the loaded library and fixtures (copy-on-write), runs the test and sends back
its outcome, the error codes it observed and its example count. Every native call is also
written to a flight recorder pipe before it is made; when the child dies from a signal or
hangs, the parent turns the last recorded calls into a ContractViolation that names the rule
and replays the calls that killed it.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from conformance import stats
from conformance.rules import RuleBook
from conformance.violations import ContractViolation

HANG_SECONDS = float(os.environ.get("CONFORMANCE_HANG_SECONDS", "60"))

# Set in a forked child: where Trace writes its flight-recorder lines.
RECORDER_FD: int | None = None


def run_forked(body: Callable[[], Any], rules: RuleBook, what: str) -> None:
    global RECORDER_FD
    result_r, result_w = os.pipe()
    recorder = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # child
        os.close(result_r)
        RECORDER_FD = recorder.fileno()
        stats.reset()
        payload: dict[str, Any]
        try:
            body()
            payload = {"ok": True}
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            payload = {"ok": False, "exc": _picklable(exc)}
        payload["stats"] = stats.snapshot()
        data = pickle.dumps(payload)
        with os.fdopen(result_w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(result_w)
    chunks = []
    deadline = time.monotonic() + HANG_SECONDS
    status = None
    with os.fdopen(result_r, "rb") as f:
        os.set_blocking(f.fileno(), False)
        while True:
            try:
                data = f.read()
                if data:
                    chunks.append(data)
            except BlockingIOError:
                pass
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                rest = f.read()
                if rest:
                    chunks.append(rest)
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = None
                break
            time.sleep(0.002)
    recorder.seek(0)
    flight = recorder.read().decode("utf-8", "replace")
    recorder.close()
    raw = b"".join(chunks)
    if status is not None and os.WIFEXITED(status) and raw:
        payload = pickle.loads(raw)
        stats.merge(payload["stats"])
        if not payload["ok"]:
            if isinstance(payload["exc"], _Skip):
                pytest.skip(str(payload["exc"]))
            raise payload["exc"]
        return
    raise _crash_violation(rules, flight, status, what)


class _Skip(Exception):
    """A pytest skip raised in the child, carried back as a plain exception."""


def _picklable(exc: BaseException) -> BaseException:
    if isinstance(exc, ContractViolation):
        return exc
    if isinstance(exc, pytest.skip.Exception):  # a skip decided inside the child (no GPU)
        return _Skip(str(exc.msg))
    try:
        pickle.dumps(exc)
        return exc
    except Exception:  # noqa: BLE001
        return AssertionError("".join(traceback.format_exception(exc)))


_CALL = re.compile(r"\blib\.(\w+)\(")


def _crash_violation(rules: RuleBook, flight: str, status: int | None, what: str) -> ContractViolation:
    lines = flight.split("#--example\n")[-1].splitlines() if flight else []
    rule_id = None
    last_fn = None
    for line in lines:
        if line.startswith("# rule: "):
            rule_id = line[len("# rule: "):].strip()
        m = _CALL.search(line)
        if m:
            last_fn = m.group(1)
    if rule_id is None or rule_id not in rules:
        rule_id = f"FN-{last_fn}-errors" if last_fn and f"FN-{last_fn}-errors" in rules \
            else "SEM-last-error-detail"
    if status is None:
        how = f"hung for more than {HANG_SECONDS:.0f} s and was killed"
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        how = f"crashed with {signal.Signals(sig).name}"
    else:
        how = f"exited with status {os.WEXITSTATUS(status)} without a result"
    body = "\n".join(line for line in lines if not line.startswith("# rule: "))
    replay = "# --- Python (calls up to the crash; fixture setup included) ---\n" + body
    return ContractViolation(rules[rule_id], f"the process {how} during {what}"
                             + (f" (last call: {last_fn})" if last_fn else ""), replay)
