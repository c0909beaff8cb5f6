"""Benchmark `ffispec generate`: the real command on the worker spec, on the SQLite example, and
on synthetic specs of growing size to show that cost grows linearly.

    python bench/bench_generate.py [--repeats 7] [--baseline REV | --no-baseline]

Each figure is the median of several runs of a fresh `python -m generator generate` process
(start-up and imports included, as a user sees it) writing into a temporary root: its CPU time
(user + system, which a busy machine inflates less) and its wall time. Targets, in CPU time:
worker spec under 300 ms, 2,000 synthetic functions under 1.5 s.

Absolute times differ by a factor of 2-3 between the machines this runs on, so the 2,000-function
case is also timed against the tree the target was set against (bench/baseline.py: a git
worktree of that revision, each tree generating from a synthetic spec its own
bench/synthetic_spec.py writes, runs interleaved): the target as a ratio is 1.5 / 2.9 s.
That tree renders fewer artefacts (no Rust crate), so the ratio is a strict one. The children
run with Python's bytecode cache allowed, as an installed package has it, after a warm-up run.
Exit status 1 when a target is missed: the 2,000-function one by the ratio when the baseline
can be timed, else by the absolute figure."""

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
from bench.baseline import TARGETS_SET_AT, Baseline, NoBaseline, baseline_tree, child_env, judge, synthetic_spec  # noqa: E402
from bench.synthetic_spec import ROOT, write_synthetic  # noqa: E402

WORKER_TARGET_S = 0.3
SYNTHETIC_TARGET_S = 1.5


def _run(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of `cmd` as a child process (with the bytecode
    cache allowed, bench/baseline.py)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True,
                   env=child_env() if env is None else env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def _generate_once(spec: Path, base: Baseline | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `python -m generator generate` on `spec`, into a fresh
    root, by this tree or by the baseline's (its directory first on the module path)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "generator", "generate", "--spec", str(spec), "--root", tmp]
        if base is None:
            return _run(cmd)
        return _run(cmd, cwd=base.tree, env=base.env)


def time_generate(spec: Path, repeats: int) -> tuple[float, float]:
    """Median (CPU seconds, wall seconds) of `ffispec generate` on `spec`."""
    runs = [_generate_once(spec) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def against_baseline(rev: str, functions: int, repeats: int, tmpdir: Path) -> bool:
    """Generate on `functions` synthetic functions with this tree and with `rev` (judged by
    bench.baseline.judge)."""
    with baseline_tree(rev) as base:
        base_spec = synthetic_spec(base, tmpdir / f"baseline_{functions}.yaml", functions)
        spec = write_synthetic(tmpdir / f"current_{functions}.yaml", functions)
        return judge(f"synthetic {functions} functions", base,
                     lambda: _generate_once(base_spec, base)[0], lambda: _generate_once(spec)[0],
                     repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", default=TARGETS_SET_AT,
                        help=f"git revision to time against (default {TARGETS_SET_AT}, where the "
                             "targets were set)")
    parser.add_argument("--no-baseline", action="store_true", help="absolute figures only")
    args = parser.parse_args()
    _generate_once(ROOT / "spec" / "worker_ffi.yaml")  # warm: this tree's bytecode cache
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
        absolute_ok = t2 < SYNTHETIC_TARGET_S
        print(f"growth 1000 -> 2000 functions: x{(t2 - floor) / (t1 - floor):.2f} (linear = x2.00); "
              f"2000 functions target < {SYNTHETIC_TARGET_S:.1f} s CPU: "
              f"{'ok' if absolute_ok else 'MISSED'}")
        # The 2,000-function target is judged against the tree it was set against when that
        # tree can be timed here (absolute times depend on the machine), else absolutely.
        if args.no_baseline:
            ok &= absolute_ok
        else:
            try:
                ok &= against_baseline(args.baseline, 2000, args.repeats, tmpdir)
            except NoBaseline as exc:
                print(f"no baseline comparison ({exc}); the absolute figure decides")
                ok &= absolute_ok
    finally:
        shutil.rmtree(tmpdir)
    return 0 if ok else 1


def _count(spec: Path) -> int:
    return len(yaml.safe_load(spec.read_text())["functions"])


if __name__ == "__main__":
    raise SystemExit(main())
