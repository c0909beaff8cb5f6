"""Summary of a bench/gpu/run_gpu.sh run: step status, the benchmark ratios against their
targets (issue 8), as summary.json and a table on stdout. Standard library only.

    python3 bench/gpu/summarize.py RESULTS_DIR
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def tagged_json(path: Path) -> dict[str, list[dict]]:
    """Lines "TAG {json}" of a step log, grouped by tag."""
    out: dict[str, list[dict]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(errors="replace").splitlines():
        tag, _, rest = line.partition(" ")
        if rest.startswith("{"):
            try:
                out.setdefault(tag, []).append(json.loads(rest))
            except json.JSONDecodeError:
                pass
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _median_run(runs: list[dict]) -> dict:
    """One load probe per process: the medians over the processes of the first load and of
    the steady loads (a single process's first load is one sample, and noisy); the rest of
    the record from the first process."""
    return {**runs[0], "first_gbs": statistics.median(r["first_gbs"] for r in runs),
            "steady_gbs": statistics.median(r["steady_gbs"] for r in runs), "processes": len(runs),
            "first_gbs_by_process": [r["first_gbs"] for r in runs]}


def main(argv: list[str]) -> int:
    results = Path(argv[1] if len(argv) > 1 else "gpu-results")
    steps = []
    for line in (results / "steps.tsv").read_text().splitlines() if (results / "steps.tsv").is_file() else []:
        fields = line.split("\t")
        steps.append({"step": fields[0], "status": fields[1], "seconds": int(fields[2]),
                      **({"why": fields[3]} if len(fields) > 3 else {})})

    summary: dict[str, object] = {"steps": steps, "checks": {}}
    machine = results / "machine.txt"
    if machine.is_file():
        summary["machine"] = machine.read_text().strip().splitlines()
    checks: dict[str, dict] = summary["checks"]  # type: ignore[assignment]

    init = tagged_json(results / "bench_init.log")
    bare = [r["seconds"] for r in init.get("bare", [])]
    ffi = [r["seconds"] for r in init.get("ffi", [])]
    if bare and ffi:
        r = ratio(statistics.median(ffi), statistics.median(bare))
        checks["cuda_init_vs_bare_context"] = {
            "cuda_init_s": statistics.median(ffi), "bare_s": statistics.median(bare), "ratio": r,
            "target": "<= 1.05", "met": r is not None and r <= 1.05, "runs_ffi": ffi, "runs_bare": bare}
    after_open = [r["seconds"] for r in init.get("ffi_after_open", [])]
    if bare and after_open:
        checks["cuda_init_prewarm_after_open"] = {
            "cuda_init_s": statistics.median(after_open), "bare_s": statistics.median(bare),
            "ratio": ratio(statistics.median(after_open), statistics.median(bare)), "runs": after_open}

    load = tagged_json(results / "bench_load.log")
    ceilings = load.get("ceiling", [])
    # The target's ceiling is the issue's: the file copied from the page cache into pinned memory
    # (a file-sized buffer) by the best thread count. Copies into small reused buffers that stay
    # in the CPU caches run faster; they are reported beside it as a stricter reference.
    ceiling = max((c["to_file_sized_pinned_gbs"] for c in ceilings), default=None)
    cache_resident = max((c["to_pinned_lanes_gbs"] for c in ceilings), default=None)
    h2d = load["h2d"][0]["gbs"] if load.get("h2d") else None
    pageable = load["pageable"][0]["gbs"] if load.get("pageable") else None
    if load.get("load"):
        run = _median_run(load["load"])
        steady, first = run["steady_gbs"], run["first_gbs"]
        checks["load_vs_host_ceiling"] = {
            "load_gbs_steady": steady, "load_gbs_first": first, "ceiling_gbs": ceiling,
            "ratio": ratio(steady, ceiling), "ratio_first_load": ratio(first, ceiling), "target": ">= 0.70",
            "met": (ratio(steady, ceiling) or 0) >= 0.70,
            "ratio_vs_cache_resident_copy": ratio(steady, cache_resident),
            "ratio_vs_pinned_h2d": ratio(steady, h2d), "ceiling_by_threads": ceilings,
            "resident": run["resident"], "tracked_bytes_after_unload": run["tracked_bytes_after_unload"]}
        checks["load_vs_1mib_pageable"] = {
            "load_gbs_steady": steady, "pageable_gbs": pageable, "ratio": ratio(steady, pageable),
            "target": ">= 4", "met": (ratio(steady, pageable) or 0) >= 4}
        checks["load_first_and_steady_vs_ceiling"] = {
            "ratio_first": ratio(first, ceiling), "ratio_steady": ratio(steady, ceiling), "target": ">= 0.9 both",
            "met": (ratio(first, ceiling) or 0) >= 0.9 and (ratio(steady, ceiling) or 0) >= 0.9}
    if load.get("load_hostalloc"):
        run = load["load_hostalloc"][0]
        checks["load_with_cudahostalloc_block"] = {
            "load_gbs_steady": run["steady_gbs"], "load_gbs_first": run["first_gbs"],
            "ratio": ratio(run["steady_gbs"], ceiling), "ratio_first_load": ratio(run["first_gbs"], ceiling)}
    # Variants of the load, each in its own process (A/B against "load" above).
    for tag, what in (("load_idle", "first load 300 ms after cuda_init returned"),
                      ("load_after_open", "WORKER_FFI_CUDA_PREWARM=after-open"),
                      ("load_lanes8", "8 upload lanes")):
        if load.get(tag):
            run = _median_run(load[tag])
            checks[tag] = {"what": what, "load_gbs_steady": run["steady_gbs"], "load_gbs_first": run["first_gbs"],
                           "ratio": ratio(run["steady_gbs"], ceiling),
                           "ratio_first_load": ratio(run["first_gbs"], ceiling), "processes": run["processes"]}
    if load.get("pin"):
        summary["page_locking_64mib"] = load["pin"][0]
    if load.get("h2d"):
        summary["pinned_h2d_gbs"] = load["h2d"][0]["gbs"]
    if load.get("load_host"):
        summary["host_backend_load_gbs"] = load["load_host"][0]["steady_gbs"]

    tokens = tagged_json(results / "bench_tokens.log")
    for model in ("rand", "bench1g"):
        cuda = tokens.get(f"cuda_{model}")
        host = tokens.get(f"host_{model}")
        if cuda and host:
            checks[f"tokens_per_s_{model}"] = {
                "cuda": cuda[0]["pieces_per_s"], "host": host[0]["pieces_per_s"],
                "ratio": ratio(cuda[0]["pieces_per_s"], host[0]["pieces_per_s"]),
                "note": "pieces/s of identical streams (a piece per token except inside multi-byte characters)"}

    # The memory-traffic floor of a bench1g step: the output matrix (d x n_vocab floats) is read
    # once per token, at the device-to-device copy bandwidth measured in the same run.
    if tokens.get("d2d") and tokens.get("cuda_bench1g"):
        step_bytes = 4096 * 32768 * 4
        floor = tokens["d2d"][0]["gbs"] * 1e9 / step_bytes
        c = {"d2d_copy_gbs": tokens["d2d"][0]["gbs"], "floor_tokens_per_s": floor,
             "cuda_t08": tokens["cuda_bench1g"][0]["pieces_per_s"],
             "ratio_t08": ratio(tokens["cuda_bench1g"][0]["pieces_per_s"], floor)}
        if tokens.get("cuda_bench1g_t0"):
            c["cuda_t0"] = tokens["cuda_bench1g_t0"][0]["pieces_per_s"]
            c["ratio_t0"] = ratio(c["cuda_t0"], floor)
        c["target"] = ">= 0.7"
        c["met"] = (c["ratio_t08"] or 0) >= 0.7
        checks["bench1g_tokens_vs_memory_floor"] = c
    conf = [s for s in steps if s["step"] == "conformance"]
    if conf:
        checks["conformance_and_differential_wall"] = {
            "seconds": conf[0]["seconds"], "target": "< 120", "status": conf[0]["status"],
            "met": conf[0]["status"] == "pass" and conf[0]["seconds"] < 120}

    (results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    print(f"{'step':<26} {'status':<10}   s")
    for s in steps:
        print(f"{s['step']:<26} {s['status']:<10} {s['seconds']:>3}  {s.get('why', '')}")
    print()
    for name, c in checks.items():
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in c.items() if not isinstance(v, list))
        print(f"{name}: {shown}")
    # info_ steps are reported but do not count (see run_gpu.sh).
    failed = [s for s in steps if s["status"] not in ("pass", "skip") and not s["step"].startswith("info_")]
    print(f"\n{len(failed)} step(s) not passing; targets met: "
          f"{sum(1 for c in checks.values() if c.get('met'))} of {sum(1 for c in checks.values() if 'met' in c)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
