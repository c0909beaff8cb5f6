"""Wrapper mutants of the system libsqlite3: proof that the suite catches drift in a library
the project did not write.

    python -m conformance.plugins.sqlite3_subset.mutants [--only NAME ...] [--jobs 2]

Each mutant is a small shared library exporting every function of the SQLite spec: each
forwards to the real libsqlite3 (opened privately), except the one the mutant changes. The
control (no change) must pass the suite; every mutant must fail it. Exit status 0 when both
hold; writes reports/sqlite-mutants.{json,md}.

Two drifts a mutant catalogue usually has need care with SQLite's spec:

A finalized statement accepted. Literally, a call on a finalized statement that succeeds
instead of being refused. The spec makes every handle rule a precondition (`rules:
precondition`: SQLite cannot tell a finalized statement from a live one, and using one is
undefined behaviour), so the suite never sends such a call, and a library that "accepts" it is
not distinguishable from SQLite by any call the spec allows. What is detectable is the drift
behind it: a finalize that reports SQLITE_OK but keeps the statement alive (a finalized
statement stays usable). That is `leak-on-finalize`, caught by the memory SQLite holds
(SEM-finalize-frees) and again through the statement's parent: a connection closed while the
statement lived is never freed (SEM-close-deferred).

A missing cascade. The spec's handle tree makes the connection the statements' parent
(`sqlite3_stmt: parent: sqlite3`), and the core's generic reading of `parent:` is a cascade
(HANDLE-sqlite3_stmt-parent-cascade: destroying the parent destroys its children). SQLite has
no cascade, and the spec says what it has instead: sqlite3_close_v2 "with unfinalized
statements ... is deferred until they are", returns SQLITE_OK and declares only MISUSE. So
"the cascade is missing" is SQLite's correct behaviour, and the core's cascade check is not
made here (it needs a `testing_live_handles` role, which SQLite lacks; with the
precondition rules the lifecycle machine never touches a statement after its connection's
close). The declared relation can break in three ways, each a mutant:
`close-refuses-live-statements` (close_v2 behaves like sqlite3_close: SQLITE_BUSY while
statements live, the connection stays open), caught by the core as an undeclared code of
close_v2 wherever a connection is closed under a live statement; `close-finalizes-statements`
(a cascade SQLite does not have: the caller's later finalize would free each statement twice)
and `close-never-completes` (the deferred close never frees the connection), caught by the
plug-in's SEM-close-deferred from the memory SQLite holds.
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
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SPEC = REPO / "examples/sqlite/spec/sqlite3.yaml"
REAL = "libsqlite3.so.0"


@dataclass(frozen=True)
class Mutant:
    name: str
    drift: str
    function: str
    body: str  # C statements; `real` is the real function, the parameters are in scope


MUTANTS = (
    Mutant("undeclared-code", "bind_int64 reports SQLITE_CONSTRAINT, a code it does not declare",
           "sqlite3_bind_int64", "int rc = real(stmt, index, value); return rc == SQLITE_OK ? SQLITE_CONSTRAINT : rc;"),
    Mutant("wrong-success-value", "step reports SQLITE_OK where SQLite reports SQLITE_DONE",
           "sqlite3_step", "int rc = real(stmt); return rc == SQLITE_DONE ? SQLITE_OK : rc;"),
    Mutant("leak-on-finalize", "finalize reports SQLITE_OK without deleting the statement (a "
           "finalized statement stays alive and usable)",
           "sqlite3_finalize", "(void)real; (void)pStmt; return SQLITE_OK;"),
    Mutant("range-unchecked", "bind_int64 accepts parameter index 0",
           "sqlite3_bind_int64", "if (index == 0) return SQLITE_OK; return real(stmt, index, value);"),
    Mutant("errmsg-shared-buffer", "errmsg copies into one buffer shared by every connection, so "
           "another connection's error overwrites the text before its window ends",
           "sqlite3_errmsg", "static char shared[512]; const char* m = real(db); "
           "snprintf(shared, sizeof shared, \"%s\", m); return shared;"),
    Mutant("libversion-not-static", "libversion returns a fresh copy on every call",
           "sqlite3_libversion", "return strdup(real());"),
    Mutant("threadsafe-undeclared-value", "threadsafe returns 7, outside its declared values",
           "sqlite3_threadsafe", "(void)real; return 7;"),
    Mutant("stmt-left-on-failure", "a failed prepare leaves a non-NULL statement pointer",
           "sqlite3_prepare_v2", "int rc = real(db, zSql, nByte, ppStmt, pzTail); "
           "if (rc != SQLITE_OK) *ppStmt = (sqlite3_stmt*)(uintptr_t)0x10; return rc;"),
    Mutant("no-connection-on-failure", "a failed open closes the connection and writes NULL",
           "sqlite3_open_v2", "int rc = real(filename, ppDb, flags, zVfs); "
           "if (rc != SQLITE_OK) { sqlite3_close_v2(*ppDb); *ppDb = NULL; } return rc;"),
    Mutant("column-off-by-one", "column_int64 returns the value plus one",
           "sqlite3_column_int64", "return real(stmt, iCol) + 1;"),
    # The connection-statement relation (see the module docstring): close_v2 defers while
    # statements live; each of these breaks that one way.
    Mutant("close-refuses-live-statements", "close_v2 behaves like sqlite3_close: SQLITE_BUSY "
           "while the connection has unfinalized statements, and the connection stays open",
           "sqlite3_close_v2", "(void)real; int (*close1)(sqlite3*) = (int (*)(sqlite3*))"
           "dlsym(lib(), \"sqlite3_close\"); return close1(db);"),
    Mutant("close-finalizes-statements", "close_v2 finalizes the connection's statements first: "
           "a cascade SQLite does not have (the caller's finalize frees them twice)",
           "sqlite3_close_v2", "sqlite3_stmt* (*next)(sqlite3*, sqlite3_stmt*) = "
           "(sqlite3_stmt* (*)(sqlite3*, sqlite3_stmt*))dlsym(lib(), \"sqlite3_next_stmt\"); "
           "int (*fin)(sqlite3_stmt*) = (int (*)(sqlite3_stmt*))dlsym(lib(), \"sqlite3_finalize\"); "
           "sqlite3_stmt* s; if (db) while ((s = next(db, NULL)) != NULL) fin(s); return real(db);"),
    Mutant("close-never-completes", "close_v2 with unfinalized statements reports SQLITE_OK but "
           "never closes: the connection outlives its last statement",
           "sqlite3_close_v2", "sqlite3_stmt* (*next)(sqlite3*, sqlite3_stmt*) = "
           "(sqlite3_stmt* (*)(sqlite3*, sqlite3_stmt*))dlsym(lib(), \"sqlite3_next_stmt\"); "
           "if (db && next(db, NULL) != NULL) return SQLITE_OK; return real(db);"),
)


def source(spec, mutant: Mutant | None) -> str:
    """The wrapper: every spec function forwards to the real library, one maybe mutated."""
    lines = ["#include <sqlite3.h>", "#include <dlfcn.h>", "#include <stdint.h>", "#include <stdio.h>",
             "#include <stdlib.h>", "#include <string.h>",
             "static void* lib(void) { static void* h; if (!h) h = dlopen(\"" + REAL + "\", RTLD_NOW | RTLD_LOCAL);"
             " if (!h) abort(); return h; }"]
    for fn in spec.functions:
        ret = fn.returns.ctype.c
        types = ", ".join(p.ctype.c for p in fn.params) or "void"
        args = ", ".join(p.name for p in fn.params)
        head = (f"__attribute__((visibility(\"default\"))) {fn.c_signature} {{\n"
                f"  {ret} (*real)({types}) = ({ret} (*)({types}))dlsym(lib(), \"{fn.name}\");\n")
        if mutant is not None and mutant.function == fn.name:
            body = "  " + mutant.body + "\n"
        elif fn.returns.ctype.is_void:
            body = f"  real({args});\n"
        else:
            body = f"  return real({args});\n"
        lines.append(head + body + "}")
    return "\n".join(lines) + "\n"


def build(spec, mutant: Mutant | None, out: Path) -> Path:
    name = mutant.name if mutant else "control"
    src = out / f"{name}.c"
    src.write_text(source(spec, mutant))
    lib = out / f"libsqlite3-{name}.so"
    cc = shutil.which("cc") or "gcc"
    subprocess.run([cc, "-std=c11", "-D_DEFAULT_SOURCE", "-O1", "-shared", "-fPIC", "-fvisibility=hidden",
                    "-Wall", "-Wno-unused-variable", os.fspath(src), "-o", os.fspath(lib), "-ldl"],
                   check=True, capture_output=True, text=True)
    return lib


def run_suite(lib: Path, report: Path, spec_path: Path, profile: str) -> tuple[int, dict, str]:
    cmd = [sys.executable, "-m", "pytest", "conformance", "-x", "-q", "-p", "no:cacheprovider",
           "--spec", os.fspath(spec_path), "--lib", os.fspath(lib), "--report-dir", os.fspath(report),
           "--hypothesis-profile", profile]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "CONFORMANCE_HANG_SECONDS": "20"})
    try:
        data = json.loads((report / "conformance.json").read_text())
    except (OSError, ValueError):
        data = {}
    return res.returncode, data, res.stdout[-2000:] + res.stderr[-1000:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.plugins.sqlite3_subset.mutants",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--spec", default=os.fspath(SPEC))
    ap.add_argument("--report-dir", default="reports")
    ap.add_argument("--profile", default="ci")
    args = ap.parse_args(argv)
    from generator.spec import load_spec

    spec_path = Path(args.spec).resolve()
    root = spec_path.parent.parent
    cwd = os.getcwd()
    os.chdir(root)
    try:
        spec = load_spec(spec_path.relative_to(root))
    finally:
        os.chdir(cwd)
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    work = Path(tempfile.mkdtemp(prefix="sqlite-mutants-"))
    started = time.monotonic()
    jobs = [(None, build(spec, None, work))] + [(m, build(spec, m, work)) for m in chosen]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(m, pool.submit(run_suite, lib, work / (m.name if m else "control"), spec_path,
                                   args.profile)) for m, lib in jobs]
        results = []
        for m, fut in futures:
            rc, data, tail = fut.result()
            first = (data.get("failures") or [{}])[0]
            name = m.name if m else "control"
            ok = rc == 0 if m is None else (rc == 1 and bool(data.get("failures")))
            results.append({"mutant": name, "drift": m.drift if m else "none (the real library)",
                            "ok": ok, "exit": rc, "rule": first.get("rule"), "test": first.get("test"),
                            "suite_s": data.get("wall_s"), "tail": "" if ok else tail})
            status = ("passes" if ok else f"FAILS (exit {rc})") if m is None else \
                ("caught" if ok else f"MISSED (exit {rc})")
            print(f"{name:30s} {status:16s} {first.get('rule') or '-'}", flush=True)
            if not ok:
                print(tail)
    shutil.rmtree(work, ignore_errors=True)
    caught = sum(r["ok"] for r in results[1:])
    summary = {"control_passes": results[0]["ok"], "mutants": len(results) - 1, "caught": caught,
               "wall_s": round(time.monotonic() - started, 1), "results": results}
    report = Path(args.report_dir)
    report.mkdir(parents=True, exist_ok=True)
    (report / "sqlite-mutants.json").write_text(json.dumps(summary, indent=2))
    lines = ["# SQLite wrapper mutants", "",
             f"control {'passes' if summary['control_passes'] else 'FAILS'}; {caught}/{summary['mutants']} "
             f"caught in {summary['wall_s']} s", "", "| mutant | drift | caught | first rule |", "|---|---|---|---|"]
    lines += [f"| `{r['mutant']}` | {r['drift']} | {'yes' if r['ok'] else '**no**'} | `{r['rule'] or '-'}` |"
              for r in results[1:]]
    (report / "sqlite-mutants.md").write_text("\n".join(lines) + "\n")
    print(f"control {'passes' if summary['control_passes'] else 'FAILS'}; {caught}/{summary['mutants']} "
          f"mutants caught in {summary['wall_s']} s")
    return 0 if summary["control_passes"] and caught == summary["mutants"] else 1


if __name__ == "__main__":
    sys.exit(main())
