"""The worker's next version: a copy of the spec gains a handle type (CudaTokenizer, a child of
CudaModel) and three functions, a shim library implements them over the released library, and
the unchanged conformance suite exercises both: the new handle in the generated lifecycle
machine, stale/forged/NULL tokenizers and the new range rule in the negative tests, the new
`safe` function under threads, the header and exports against the new spec. Two drifted shims
(a range check off by one, a missing cascade) prove the new parts are checked, not just run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "next_version"
SPECIAL = {  # how the shim hooks into forwarded 1.0.0 functions
    "cuda_load_model": ("", "after_load(ctx, r);"),
    "cuda_unload_model": ("before_unload(model);", ""),
    "cuda_destroy": ("before_destroy(ctx);", ""),
    "cuda_testing_live_handles": ("", "r += extra_live();"),
    "cuda_last_error_detail": ("const char* mine = detail_override(); if (mine) return mine;", ""),
}


def _host_library() -> Path | None:
    for candidate in (REPO / "native/build/host/libworker_ffi.so",):
        if candidate.is_file():
            return candidate
    try:
        import worker_ffi
    except ImportError:
        return None
    shipped = Path(worker_ffi.__file__).parent / "libworker_ffi.so"
    return shipped if shipped.is_file() else None


def _next_spec(root: Path) -> Path:
    data = yaml.safe_load((REPO / "spec/worker_ffi.yaml").read_text())
    added = yaml.safe_load((HERE / "spec_addition.yaml").read_text())
    major, minor, _ = (int(x) for x in data["interface"]["version"].split("."))
    version = f"{major}.{minor + 1}.0"  # the next minor version of whatever the spec is at
    data["interface"]["version"] = version
    data["groups"] += added["group"]
    data["handles"] += added["handle"]
    data["functions"] += [{**f, "since": version} for f in added["functions"]]
    data["changelog"].insert(0, {"version": version, "date": "2026-12-01",
                                 "changes": ["New: the CudaTokenizer handle (cuda_tokenizer_open, "
                                             "cuda_tokenizer_close, cuda_tokenizer_piece_length)."]})
    (root / "spec").mkdir(parents=True)
    out = root / "spec/worker_ffi.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    shutil.copy(REPO / "spec/schema.json", root / "spec/schema.json")
    return out


def _model(root: Path):
    from generator.spec import load_spec

    cwd = os.getcwd()
    os.chdir(root)
    try:
        return load_spec("spec/worker_ffi.yaml")
    finally:
        os.chdir(cwd)


def _forwarders(old) -> str:
    out = []
    for fn in old.functions:
        ret = fn.returns.ctype.c
        types = ", ".join(p.ctype.c for p in fn.params) or "void"
        args = ", ".join(p.name for p in fn.params)
        pre, post = SPECIAL.get(fn.name, ("", ""))
        body = [f"static {ret} (*fp)({types});", f"if (fp == NULL) fp = ({ret} (*)({types}))sym(\"{fn.name}\");"]
        if fn.fallible:
            body.append("shim_last = 0;")
        if pre:
            body.append(pre)
        if fn.role in ("contract_hash", "contract_version"):
            body.append(f"(void)fp; return {'NEW_HASH' if fn.role == 'contract_hash' else 'NEW_VERSION'};")
        elif fn.returns.ctype.is_void:
            body += [f"fp({args});", post]
        else:
            body += [f"{ret} r = fp({args});", post, "return r;"]
        out.append(f"SHIM_API {fn.c_signature} {{\n  " + "\n  ".join(b for b in body if b) + "\n}\n")
    return "\n".join(out)


def _build_shim(root: Path, new, real: Path, *defines: str) -> Path:
    from generator.spec import load_spec

    old = load_spec(REPO / "spec/worker_ffi.yaml")
    typedefs = "".join(f"typedef struct {h.name} {h.name};\n" for h in new.handles)
    src = (HERE / "shim.c.in").read_text()
    src = src.replace("@TYPEDEFS@", typedefs + f'#define NEW_HASH "{new.contract_hash}"\n'
                      f'#define NEW_VERSION "{new.interface.version}"\n')
    src = src.replace("@REAL_LIB@", os.fspath(real)).replace("@FORWARDERS@", _forwarders(old))
    name = "shim" + "".join(f"-{d.lower()}" for d in defines)
    (root / f"{name}.c").write_text(src)
    out = root / f"lib{name}.so"
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-std=c11", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Werror",
                    *(f"-D{d}" for d in defines), os.fspath(root / f"{name}.c"), "-o", os.fspath(out),
                    "-ldl", "-lpthread"], check=True, capture_output=True, text=True)
    return out


def _suite(root: Path, spec: Path, lib: Path, report: Path, *select: str) -> tuple[int, dict, str]:
    res = subprocess.run([sys.executable, "-m", "pytest", os.fspath(REPO / "conformance"), "-q",
                          "-p", "no:cacheprovider", "--spec", os.fspath(spec), "--lib", os.fspath(lib),
                          "--report-dir", os.fspath(report), *select],
                         cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "CONFORMANCE_HANG_SECONDS": "30"})
    data = json.loads((report / "conformance.json").read_text())
    return res.returncode, data, res.stdout[-3000:] + res.stderr[-2000:]


@pytest.fixture(scope="module")
def next_version(tmp_path_factory):
    real = _host_library()
    if real is None or shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("needs the host library (nox -s build) and a C compiler")
    root = tmp_path_factory.mktemp("next")
    spec = _next_spec(root)
    new = _model(root)
    from generator.render import ARTEFACTS, render_all

    header = [a for a in ARTEFACTS if a.target(new) == new.interface.header.path]
    for rel, text in render_all(new, artefacts=header).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root, spec, new, real


def test_the_suite_exercises_the_new_handle_and_functions(next_version):
    root, spec, new, real = next_version
    lib = _build_shim(root, new, real)
    rc, data, tail = _suite(root, spec, lib, root / "report",
                            "-k", "tokenizer or lifecycle or test_static or ownership or error_detail or test_state")
    assert rc == 0, tail
    ran = {t["test"] for t in data["tests"] if t["outcome"] == "passed"}
    new_cases = [t for t in ran if "cuda_tokenizer" in t]
    # Negative cases of every new parameter rule, inside/outside the new range, forged handles,
    # the new safe function under threads.
    for expected in ("cuda_tokenizer_piece_length-tokenizer-stale", "cuda_tokenizer_piece_length-token_id-above-max",
                     "cuda_tokenizer_open-model-null", "cuda_tokenizer_close-tokenizer-stale",
                     "test_outside_rule_is_rejected[cuda_tokenizer_piece_length-token_id]",
                     "test_safe_function_from_many_threads[cuda_tokenizer_piece_length]"):
        assert any(expected in t for t in new_cases), (expected, sorted(new_cases)[:20])
    assert any("test_handle_lifecycles" in t for t in ran)
    coverage = {r["function"]: r for r in data["coverage"]}
    assert coverage["cuda_tokenizer_open"]["ok"] > 0 and coverage["cuda_tokenizer_piece_length"]["calls"] > 0
    assert "INVALID_PARAMETER" in coverage["cuda_tokenizer_piece_length"]["observed"]


@pytest.mark.parametrize("drift,select,rule", [
    ("DRIFT_RANGE", "cuda_tokenizer_piece_length and token_id", "FN-cuda_tokenizer_piece_length-token_id-range"),
    ("DRIFT_NO_CASCADE", "lifecycle", "HANDLE-CudaTokenizer-parent-cascade"),
])
def test_a_drift_in_the_new_parts_is_caught(next_version, drift, select, rule):
    root, spec, new, real = next_version
    lib = _build_shim(root, new, real, drift)
    rc, data, tail = _suite(root, spec, lib, root / f"report-{drift}", "-k", select)
    assert rc == 1, tail
    assert rule in data["violations"], (data["violations"], tail)
