"""Benchmark `ffispec generate`: wall time of the real command on the worker spec, and on
synthetic specs of growing size to show that cost grows linearly.

    python bench/bench_generate.py [--repeats 7]

Each figure is the median of several runs of a fresh `python -m generator generate` process
(start-up and imports included, as a user sees it) writing into a temporary root."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.synthetic_spec import ROOT, write_synthetic  # noqa: E402


def time_generate(spec: Path, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "generator", "generate", "--spec", str(spec),
                            "--root", tmp], cwd=ROOT, check=True, capture_output=True)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    baseline = time_generate(ROOT / "spec" / "worker_ffi.yaml", args.repeats)
    # A process that only starts Python: the floor every CLI run pays.
    floor = statistics.median(
        [_timed([sys.executable, "-c", "pass"]) for _ in range(args.repeats)])
    print(f"worker spec ({_count(ROOT / 'spec' / 'worker_ffi.yaml')} functions): "
          f"median {baseline * 1000:.0f} ms (target < 300 ms; bare python start {floor * 1000:.0f} ms)")
    sqlite = ROOT / "examples" / "sqlite" / "spec" / "sqlite3.yaml"
    print(f"SQLite example spec ({_count(sqlite)} functions): "
          f"median {time_generate(sqlite, args.repeats) * 1000:.0f} ms")
    tmpdir = Path(tempfile.mkdtemp())
    try:
        rows = []
        for n in (250, 500, 1000, 2000):
            spec = write_synthetic(tmpdir / f"synthetic_{n}.yaml", n)
            t = time_generate(spec, max(3, args.repeats // 2))
            rows.append((n, t))
            print(f"synthetic {n:5d} functions: median {t * 1000:7.0f} ms "
                  f"({(t - floor) / n * 1e6:6.0f} us/function above start-up)")
        (_, t1), (_, t2) = rows[-2], rows[-1]
        print(f"growth 1000 -> 2000 functions: x{(t2 - floor) / (t1 - floor):.2f} "
              f"(linear = x2.00); 2000 functions target < 3 s: {'ok' if t2 < 3 else 'MISSED'}")
    finally:
        shutil.rmtree(tmpdir)
    return 0


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def _count(spec: Path) -> int:
    import yaml

    return len(yaml.safe_load(spec.read_text())["functions"])


if __name__ == "__main__":
    raise SystemExit(main())
