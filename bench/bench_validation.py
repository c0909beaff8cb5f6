"""What validating requests from the generated contract costs, against the hand-written checks
it replaced, as a share of handling a request.

    python bench/bench_validation.py [--rounds 15] [--calls 2000] [--jobs 40]

Same process, interleaved rounds, medians:

1. Per call: ``bench/handwritten_validation.py`` (the worker's checks before the contract was
   generated, kept verbatim) and ``worker.validation.Validator`` over ``worker/openapi.json``
   (JSON Schema), on a typical valid body, on a body where every field fails, and on a
   /cancel body (the cancel path).
2. Request handling: POST /execute of a small job (prompt "Hello", 8 tokens, greedy) on the
   tiny test model through a worker on 127.0.0.1, request sent to terminal event received.

Reported: the added cost (contract minus hand-written) as a share of request handling; target
<= 5%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import handwritten_validation as handwritten  # noqa: E402
from conformance import models  # noqa: E402
from worker.contract import Contract, RequestInvalid  # noqa: E402
from worker.testing import execute, worker_under_test  # noqa: E402
from worker.validation import Validator  # noqa: E402

VALID = {"job_id": "bench-0001", "prompt": "Hello, world", "max_tokens": 8, "temperature": 0,
         "seed": 7, "stop": ["\n\n"]}
INVALID = {"prompt": "", "max_tokens": 0, "temperature": 9, "seed": -1, "stop": ["x"] * 9,
           "colour": "red", "top_p": 0.5}
JOB = {"prompt": "Hello", "max_tokens": 8, "temperature": 0}


def per_call(fn: Any, body: dict[str, Any], calls: int) -> float:
    """Seconds per call of ``fn(body)`` (RequestInvalid counts as a completed call)."""
    t0 = time.perf_counter()
    for _ in range(calls):
        try:
            fn(body)
        except (RequestInvalid, handwritten.RequestInvalid):
            pass
    return (time.perf_counter() - t0) / calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=40)
    args = ap.parse_args(argv)

    generated = Validator(Contract.load())
    # label -> (body, hand-written parser, contract parser); /cancel is on the cancel path.
    pairs = {"valid": (VALID, handwritten.parse_execute, generated.parse_execute),
             "invalid": (INVALID, handwritten.parse_execute, generated.parse_execute),
             "cancel": ({"job_id": "bench-0001"}, handwritten.parse_cancel,
                        generated.parse_cancel)}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for label, (body, old_fn, new_fn) in pairs.items():
            times.setdefault(("handwritten", label), []).append(per_call(old_fn, body, args.calls))
            times.setdefault(("contract", label), []).append(per_call(new_fn, body, args.calls))
    med = {k: statistics.median(v) for k, v in times.items()}

    with tempfile.TemporaryDirectory() as tmp:
        models.write_all(Path(tmp))
        with worker_under_test(str(Path(tmp) / "tiny.gguf")) as w, w.client() as client:
            handling = []
            for i in range(args.jobs + 3):
                t0 = time.perf_counter()
                stream = execute(client, {**JOB, "job_id": f"bench-{i}"})
                elapsed = time.perf_counter() - t0
                assert stream.terminal[0] == "end", stream.names
                if i >= 3:  # warm-up: first connections, caches
                    handling.append(elapsed)
                w.wait_idle()
    request = statistics.median(handling)

    print(f"request handling (POST /execute, {JOB['max_tokens']} tokens, median of "
          f"{args.jobs}): {request * 1e3:.3f} ms")
    for label in pairs:
        old, new = med[("handwritten", label)], med[("contract", label)]
        print(f"{label:>7} body: hand-written {old * 1e6:7.1f} us, contract {new * 1e6:7.1f} us "
              f"(x{new / old:.2f})")
    added = med[("contract", "valid")] - med[("handwritten", "valid")]
    share = added / request
    print(f"added cost of contract validation per valid request: {added * 1e6:.1f} us = "
          f"{share * 100:.2f}% of request handling (target <= 5%); contract validation alone: "
          f"{med[('contract', 'valid')] / request * 100:.2f}%")
    return 0 if share <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
