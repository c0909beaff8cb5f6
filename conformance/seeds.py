"""Run the suite repeatedly under the `dev` profile with random seeds: proof that no example
depends on state an earlier example left behind (armed faults, live handles, detail text).

    python -m conformance.seeds --runs 20 [--jobs N] [-- PYTEST ARGS ...]
    python -m conformance.seeds --runs 20 -- --spec examples/sqlite/spec/sqlite3.yaml

Every run gets its own random `--hypothesis-seed` and report directory; the seeds are printed,
so a failing run replays with `pytest conformance --hypothesis-profile dev --hypothesis-seed S`
(plus the same PYTEST ARGS). Each run's wall and CPU time (its process and the forked children
it reaped) are printed and written to the report. Exit status 0 when every run passed.
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
    report_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    # Output to files and wait4(): the run's own CPU time (with the forked children it reaped),
    # exact even when several runs share the machine.
    with open(report_dir / "stdout.txt", "w+") as out, open(report_dir / "stderr.txt", "w+") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    try:
        data = json.loads((report_dir / "conformance.json").read_text())
    except (OSError, ValueError):
        data = {}
    return {"seed": seed, "exit": proc.returncode, "wall_s": round(time.monotonic() - t0, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "examples": data.get("examples"), "counts": data.get("counts"),
            "failures": [(f.get("rule"), f["test"]) for f in data.get("failures", [])],
            "tail": "" if proc.returncode == 0 else (stdout[-3000:] + stderr[-2000:])}


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
            print(f"seed {r['seed']:>10}  {status:14s} {r['examples']} examples  {r['wall_s']} s wall  "
                  f"{r['cpu_s']} s CPU"
                  + "".join(f"\n    {rule or '-'}  {test}" for rule, test in r["failures"]), flush=True)
            if r["exit"] != 0 and not r["failures"]:
                print(r["tail"])
    passed = sum(r["exit"] == 0 for r in results)
    summary = {"runs": len(results), "passed": passed, "wall_s": round(time.monotonic() - started, 1),
               "cpu_s": round(sum(r["cpu_s"] for r in results), 1), "profile": "dev",
               "pytest_args": args.pytest_args, "results": results}
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(summary, indent=2))
    print(f"{passed}/{len(results)} dev-profile runs with random seeds passed in {summary['wall_s']} s "
          f"wall, {summary['cpu_s']} s CPU (report {args.report})")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
