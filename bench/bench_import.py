"""Benchmark `ffispec import`: wall time of importing real headers, as a user runs it.

    python bench/bench_import.py [--repeats 5]

Each figure is the median of fresh `python -m generator import HEADER -o OUT --no-lint`
processes (start-up and imports included), as CPU time (user + system, the target's measure:
stable on a shared machine) and wall time; the same-process baseline is the system
preprocessor alone (`cc -E` of the same header), so the ratio says what reading declarations,
comments and guesses cost on top of what any C tool pays. The lint of the draft (`import`
without --no-lint) is timed too: it is the spec loader's cost, not the importer's."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ["/usr/include/sqlite3.h", "/usr/include/zlib.h", "/usr/include/lz4.h"]
TARGET_S = 5.0  # sqlite3.h, about 13,000 lines


def _median(cmd: list[str], repeats: int) -> float:
    return _medians(cmd, repeats)[0]


def _medians(cmd: list[str], repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of a fresh process. On a shared
    machine the CPU time is the stable figure: wall time grows with the load average."""
    walls, cpus = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}")
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def _in_process(header: str, repeats: int) -> float:
    """Read, infer and write the draft without process start-up: the importer's own cost."""
    sys.path.insert(0, str(ROOT))
    from generator.headers.declarations import read_headers
    from generator.headers.emit import to_yaml
    from generator.headers.infer import infer

    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        to_yaml(infer(read_headers([header])), [])
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "draft.yaml")
        for header in HEADERS:
            if not Path(header).exists():
                print(f"{header}: missing (install its -dev package)")
                continue
            lines = len(Path(header).read_text(errors="replace").splitlines())
            cpp = _median(["cc", "-E", header, "-o", str(Path(tmp) / "out.i")], args.repeats)
            imp, imp_cpu = _medians([sys.executable, "-m", "generator", "import", header, "-o", out, "--no-lint"],
                                    args.repeats)
            lint = _median([sys.executable, "-m", "generator", "import", header, "-o", out], args.repeats)
            verdict = f" (target < {TARGET_S:.0f} s: {'ok' if imp_cpu < TARGET_S else 'MISSED'})" \
                if header.endswith("sqlite3.h") else ""
            inproc = _in_process(header, args.repeats)
            print(f"{Path(header).name} ({lines} lines): import median CPU {imp_cpu:.2f} s{verdict}, "
                  f"wall {imp:.2f} s; "
                  f"x{imp / cpp:.1f} the preprocessor alone ({cpp * 1000:.0f} ms); in one process "
                  f"(no start-up) {inproc:.2f} s; with the draft's lint {lint:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
