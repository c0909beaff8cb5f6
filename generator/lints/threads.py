"""Thread safety: references name real functions and parameters, concurrency is declared on
both sides, and an externally synchronised function says what to synchronise on."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lints.common import fpath, problem, suggest
from generator.model import Spec
from generator.problems import Problem


def thread_safety(spec: Spec) -> Iterator[Problem]:
    names = {f.name for f in spec.functions}
    for fn in spec.functions:
        ts = fn.thread_safety
        params = {p.name for p in fn.params}
        for j, other in enumerate(ts.concurrent_with):
            if other not in names:
                yield problem("LINT-thread-safety-reference", f"{fn.name}: concurrent_with names "
                              f"unknown function {other!r}", fn.location,
                              fpath(spec, fn, "thread_safety", "concurrent_with", j),
                              suggest(other, names))
            elif fn.name not in spec.function(other).thread_safety.concurrent_with and \
                    spec.function(other).thread_safety.cls != "safe":
                yield problem("LINT-thread-safety-asymmetric", f"{fn.name} may run concurrently "
                              f"with {other}, but {other} does not say the same", fn.location,
                              fpath(spec, fn, "thread_safety", "concurrent_with", j),
                              f"add {fn.name} to {other}.thread_safety.concurrent_with")
        for j, p in enumerate(ts.sync_on):
            if p not in params:
                yield problem("LINT-thread-safety-reference", f"{fn.name}: sync_on names unknown "
                              f"parameter {p!r}", fn.location,
                              fpath(spec, fn, "thread_safety", "sync_on", j), suggest(p, params))
        if ts.cls == "externally_synchronized" and not ts.sync_on:
            yield problem("LINT-thread-safety-reference", f"{fn.name} is externally synchronised "
                          "but names no handle to synchronise on", fn.location,
                          fpath(spec, fn, "thread_safety"), "add `sync_on: [param]`")
