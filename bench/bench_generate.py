"""Benchmark `ffispec generate`: the real command on the worker spec, on the SQLite example, and
on synthetic specs of growing size to show that cost grows linearly.

    python bench/bench_generate.py [--repeats 7]

Each figure is the median of several runs of a fresh `python -m generator generate` process
(start-up and imports included, as a user sees it) writing into a temporary root: its CPU time
(user + system, which a busy machine inflates less) and its wall time. Targets, in CPU time:
worker spec under 300 ms, 2,000 synthetic functions under 1.5 s."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.synthetic_spec import ROOT, write_synthetic  # noqa: E402

WORKER_TARGET_S = 0.3
SYNTHETIC_TARGET_S = 1.5


def _run(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of `cmd` as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def time_generate(spec: Path, repeats: int) -> tuple[float, float]:
    """Median (CPU seconds, wall seconds) of `ffispec generate` on `spec`."""
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(_run([sys.executable, "-m", "generator", "generate", "--spec", str(spec),
                              "--root", tmp]))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    # A process that only starts Python: the floor every CLI run pays.
    floor = statistics.median(_run([sys.executable, "-c", "pass"])[0] for _ in range(args.repeats))
    print(f"bare python start: CPU {floor * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs (wall times on a busy machine overstate; CPU times less so)")
    worker = ROOT / "spec" / "worker_ffi.yaml"
    cpu, wall = time_generate(worker, args.repeats)
    ok = cpu < WORKER_TARGET_S
    print(f"worker spec ({_count(worker)} functions): CPU {cpu * 1000:.0f} ms, wall "
          f"{wall * 1000:.0f} ms; target < {WORKER_TARGET_S * 1000:.0f} ms CPU: "
          f"{'ok' if ok else 'MISSED'}")
    sqlite = ROOT / "examples" / "sqlite" / "spec" / "sqlite3.yaml"
    cpu, wall = time_generate(sqlite, args.repeats)
    print(f"SQLite example spec ({_count(sqlite)} functions): CPU {cpu * 1000:.0f} ms, wall "
          f"{wall * 1000:.0f} ms")
    tmpdir = Path(tempfile.mkdtemp())
    try:
        rows = []
        for n in (250, 500, 1000, 2000):
            spec = write_synthetic(tmpdir / f"synthetic_{n}.yaml", n)
            cpu, wall = time_generate(spec, max(3, args.repeats // 2))
            rows.append((n, cpu))
            print(f"synthetic {n:5d} functions: CPU {cpu * 1000:5.0f} ms, wall {wall * 1000:5.0f} ms "
                  f"({(cpu - floor) / n * 1e6:4.0f} us CPU/function above start-up)")
        (_, t1), (_, t2) = rows[-2], rows[-1]
        ok &= t2 < SYNTHETIC_TARGET_S
        print(f"growth 1000 -> 2000 functions: x{(t2 - floor) / (t1 - floor):.2f} (linear = x2.00); "
              f"2000 functions target < {SYNTHETIC_TARGET_S:.1f} s CPU: "
              f"{'ok' if t2 < SYNTHETIC_TARGET_S else 'MISSED'}")
    finally:
        shutil.rmtree(tmpdir)
    return 0 if ok else 1


def _count(spec: Path) -> int:
    return len(yaml.safe_load(spec.read_text())["functions"])


if __name__ == "__main__":
    raise SystemExit(main())
