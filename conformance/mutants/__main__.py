"""Build every mutant of the host library and run the conformance suite against each.

    python -m conformance.mutants [--only NAME ...] [--keep DIR] [--jobs 2] [--full-suite]

Exit status 0 when every mutant was caught, 1 otherwise. Writes reports/mutants.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conformance.library import REPO
from conformance.mutants import FIRST_TRY, MUTANTS, Mutant

# Fast, broad modules first: with -x a mutant is usually caught within seconds.
SUITE_ORDER = ["test_static.py", "test_plugin.py", "test_resources.py", "test_lifecycle.py",
               "test_threads.py", "test_ownership.py", "test_negative.py"]


def build(native: Path, build_dir: Path) -> Path:
    subprocess.run(["cmake", "--build", os.fspath(build_dir), "-j2", "--target", "worker_ffi"],
                   check=True, capture_output=True, text=True)
    return build_dir / "libworker_ffi.so"


def apply(native: Path, mutant: Mutant) -> dict[Path, str]:
    originals = {}
    for e in mutant.edits:
        path = native / e.path
        text = originals.get(path) or path.read_text()
        originals.setdefault(path, text)
        current = path.read_text()
        if current.count(e.old) != 1:
            raise SystemExit(f"mutant {mutant.name}: {e.path} contains the text to replace "
                             f"{current.count(e.old)} times (need exactly 1); update the catalogue "
                             f"in conformance/mutants/__init__.py")
        path.write_text(current.replace(e.old, e.new))
    return originals


def _pytest(tests: list[str], lib: Path, header: Path, models: Path, report_dir: Path) -> tuple[int, dict]:
    cmd = [sys.executable, "-m", "pytest", *tests, "-x", "-q",
           "-p", "no:cacheprovider", "--lib", os.fspath(lib), "--header", os.fspath(header),
           "--models-dir", os.fspath(models), "--report-dir", os.fspath(report_dir)]
    env = {**os.environ, "CONFORMANCE_HANG_SECONDS": "20"}
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    try:
        data = json.loads((report_dir / "conformance.json").read_text())
    except (OSError, ValueError):
        data = {"failures": [], "tail": res.stdout[-2000:] + res.stderr[-2000:]}
    return res.returncode, data


def run_suite(lib: Path, header: Path, models: Path, report_dir: Path,
              first: str | None = None) -> tuple[int, dict]:
    """The suite against `lib` (stopping at the first failure). With `first` (the test that
    caught this mutant last time), that test runs alone first; only if it does not fail does
    the whole suite run."""
    if first is not None:
        rc, data = _pytest([first], lib, header, models, report_dir / "first")
        if rc == 1 and data.get("failures"):
            return rc, {**data, "first_try": True}
    return _pytest([f"conformance/{m}" for m in SUITE_ORDER], lib, header, models, report_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.mutants", description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="mutant names to run")
    ap.add_argument("--keep", default=None, help="work directory to keep (default: a temp dir)")
    ap.add_argument("--jobs", type=int, default=2, help="suites run in parallel")
    ap.add_argument("--report-dir", default="reports")
    ap.add_argument("--full-suite", action="store_true",
                    help="always run the whole suite (no first try of the test that caught a mutant last)")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    work = Path(args.keep or tempfile.mkdtemp(prefix="ffi-mutants-"))
    native, build_dir, models = work / "native", work / "build", work / "models"
    started = time.monotonic()
    if not native.exists():
        shutil.copytree(REPO / "native", native, ignore=shutil.ignore_patterns("build"))
    subprocess.run(["cmake", "-S", os.fspath(native), "-B", os.fspath(build_dir),
                    "-DWORKER_FFI_BACKEND=host", "-DWORKER_FFI_TESTS=OFF", "-DWORKER_FFI_BENCH=OFF",
                    # -O1 without debug info: each mutant is rebuilt, and compiling is most of
                    # the cost (a full build takes ~30% less CPU than RelWithDebInfo).
                    "-DCMAKE_BUILD_TYPE=None", "-DCMAKE_CXX_FLAGS=-O1"], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "conformance.models", os.fspath(models)], cwd=REPO,
                   check=True, capture_output=True)
    build(native, build_dir)  # the pristine build, so each mutant rebuilds only what it touches

    # Builds are sequential (one tree); suites run in parallel while the next mutant builds.
    results, pending = [], []
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    for m in chosen:
        out = work / "out" / m.name
        out.mkdir(parents=True, exist_ok=True)
        originals = apply(native, m)
        try:
            t0 = time.monotonic()
            lib = build(native, build_dir)
            shutil.copy2(lib, out / "libworker_ffi.so")
            shutil.copy2(native / "include" / "worker_ffi.h", out / "worker_ffi.h")
            build_s = time.monotonic() - t0
        finally:
            for path, text in originals.items():
                path.write_text(text)
        first = None if args.full_suite else FIRST_TRY.get(m.name)
        pending.append((m, build_s, pool.submit(run_suite, out / "libworker_ffi.so",
                                                out / "worker_ffi.h", models, out / "reports", first)))
    for m, build_s, fut in pending:
        rc, data = fut.result()
        first = (data.get("failures") or [{}])[0]
        # Caught: pytest reported test failures (exit 1), not a crash or a usage error.
        results.append({"mutant": m.name, "drift": m.drift,
                        "caught": rc == 1 and bool(data.get("failures")),
                        "exit": rc, "rule": first.get("rule"), "test": first.get("test"),
                        "message": (first.get("message") or data.get("tail") or "")[:300],
                        "build_s": round(build_s, 1), "suite_s": data.get("wall_s"),
                        "first_try": bool(data.get("first_try"))})
        status = "caught" if results[-1]["caught"] else f"MISSED (exit {rc})"
        print(f"{m.name:32s} {status:16s} {first.get('rule') or '-'}", flush=True)
    pool.shutdown()
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    caught = sum(r["caught"] for r in results)
    summary = {"mutants": len(results), "caught": caught, "wall_s": round(time.monotonic() - started, 1),
               "results": results}
    report = Path(args.report_dir)
    report.mkdir(parents=True, exist_ok=True)
    (report / "mutants.json").write_text(json.dumps(summary, indent=2))
    lines = ["# Conformance mutants", "", f"{caught}/{len(results)} caught in {summary['wall_s']} s", "",
             "| mutant | drift | caught | first rule | test |", "|---|---|---|---|---|"]
    lines += [f"| `{r['mutant']}` | {r['drift']} | {'yes' if r['caught'] else '**no**'} | "
              f"`{r['rule'] or '-'}` | `{(r['test'] or '-').split('::')[-1]}` |" for r in results]
    (report / "mutants.md").write_text("\n".join(lines) + "\n")
    print(f"{caught}/{len(results)} mutants caught in {summary['wall_s']} s "
          f"(reports in {report}/mutants.{{json,md}})")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
