"""Run the suite repeatedly under the `dev` profile with random seeds: proof that no example
depends on state an earlier example left behind (armed faults, live handles, detail text).

    python -m conformance.seeds --runs 20 [--jobs N] [-- PYTEST ARGS ...]

Every run gets its own random `--hypothesis-seed` and report directory; the seeds are printed,
so a failing run replays with `pytest conformance --hypothesis-profile dev --hypothesis-seed S`.
Exit status 0 when every run passed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conformance.contract import REPO


def run_once(seed: int, extra: list[str], report_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
           "--hypothesis-profile", "dev", f"--hypothesis-seed={seed}",
           "--report-dir", os.fspath(report_dir), *extra]
    t0 = time.monotonic()
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    try:
        data = json.loads((report_dir / "conformance.json").read_text())
    except (OSError, ValueError):
        data = {}
    return {"seed": seed, "exit": res.returncode, "wall_s": round(time.monotonic() - t0, 1),
            "examples": data.get("examples"), "counts": data.get("counts"),
            "failures": [(f.get("rule"), f["test"]) for f in data.get("failures", [])],
            "tail": "" if res.returncode == 0 else (res.stdout[-3000:] + res.stderr[-2000:])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.seeds", description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (each run is one process)")
    ap.add_argument("--report", default="reports/seeds.json")
    ap.add_argument("pytest_args", nargs="*", help="after --: passed to every pytest run")
    args = ap.parse_args(argv)
    rng = random.SystemRandom()
    seeds = [rng.randrange(2**32) for _ in range(args.runs)]
    work = Path(tempfile.mkdtemp(prefix="conformance-seeds-"))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_once, s, args.pytest_args, work / str(i)) for i, s in enumerate(seeds)]
        results = []
        for fut in futures:
            r = fut.result()
            results.append(r)
            status = "pass" if r["exit"] == 0 else f"FAIL (exit {r['exit']})"
            print(f"seed {r['seed']:>10}  {status:14s} {r['examples']} examples  {r['wall_s']} s"
                  + "".join(f"\n    {rule or '-'}  {test}" for rule, test in r["failures"]), flush=True)
            if r["exit"] != 0 and not r["failures"]:
                print(r["tail"])
    passed = sum(r["exit"] == 0 for r in results)
    summary = {"runs": len(results), "passed": passed, "wall_s": round(time.monotonic() - started, 1),
               "profile": "dev", "results": results}
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(summary, indent=2))
    print(f"{passed}/{len(results)} dev-profile runs with random seeds passed in {summary['wall_s']} s "
          f"(report {args.report})")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
