"""One session per job. `nox -l` lists them; `nox -s ci` runs what CI runs (the sessions tagged
`ci`, in two parallel lanes; `nox -t ci` runs them one after another).

CI runs on a 2-core machine with no GPU: the CUDA backend is compiled when nvcc exists and
its no-GPU behaviour is tested; `gpu_conformance` and `bench_gpu` run on a GPU machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nox

nox.options.sessions = ["check", "lint", "typecheck", "tests", "conformance"]  # `nox` alone: the quick set
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
HOST_LIB = "native/build/host/libworker_ffi.so"
CUDA_LIB = "native/build/cuda/libworker_ffi.so"
JOBS = str(os.cpu_count() or 2)
# The generator runs from the source tree; it needs only these (see pyproject dependencies).
GENERATOR_DEPS = [d for d in PYPROJECT["project"]["dependencies"]]


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _install(session: nox.Session, *groups: str, package: bool = True) -> None:
    deps = [d for g in groups for d in _group(g)]
    if deps:
        session.install(*deps)
    if package:
        session.install(".")


def _cmake(session: nox.Session, backend: str, build_dir: str, *extra: str) -> None:
    # The native tests write their models with this session's Python (gguf, numpy).
    python = str(Path(session.virtualenv.bin) / "python")
    session.run("cmake", "-S", "native", "-B", build_dir, f"-DWORKER_FFI_BACKEND={backend}",
                "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DPython3_EXECUTABLE={python}", *extra,
                external=True)
    session.run("cmake", "--build", build_dir, "-j", JOBS, external=True)


@nox.session(tags=["ci"])
def check(session: nox.Session) -> None:
    """The main job: validate the spec, prove every generated artefact is current, and apply
    the lock gate (`ffispec check`)."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "check", *session.posargs)


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the header, native exports, bindings and lock document from the spec."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "generate", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Lock the current spec: write the locked document, the baseline and the timeline entry."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "lock", *session.posargs)


@nox.session(tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff over every Python package of the project."""
    _install(session, "lint", package=False)
    session.run("ruff", "check", "generator", "ffispec_runtime", "worker_ffi", "worker",
                "conformance", "bench", "tests", "examples", "noxfile.py")


@nox.session(tags=["ci"])
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the generator, and over a sample program using the bindings."""
    _install(session, "typecheck", package=False)
    session.install(*GENERATOR_DEPS)
    session.run("mypy", "--strict", "generator", "ffispec_runtime", "worker_ffi",
                "tests/typing_sample.py")


@nox.session
def build(session: nox.Session) -> None:
    """Build the native library: the host backend always, the CUDA backend when nvcc exists."""
    _cmake(session, "host", "native/build/host")
    if shutil.which("nvcc"):
        _cmake(session, "cuda", "native/build/cuda")
    else:
        session.log("nvcc not found: skipping the CUDA backend")


SQLITE_EXAMPLE = "examples/sqlite"


@nox.session(tags=["ci"])
def examples(session: nox.Session) -> None:
    """Specs of other C ABIs (examples/): the SQLite example describes the system libsqlite3
    (mode "existing library"): its artefacts and lock are current, its header compiles with
    <sqlite3.h>, its bindings run real SQL. Installs libsqlite3-dev with apt-get when the
    header is missing (CI runs as root)."""
    if not Path("/usr/include/sqlite3.h").is_file():
        session.run("apt-get", "update", "-q", external=True)
        session.run("apt-get", "install", "-y", "-q", "libsqlite3-dev", external=True)
    session.install(*GENERATOR_DEPS, "pytest>=8")
    spec = f"{SQLITE_EXAMPLE}/spec/sqlite3.yaml"
    session.run("python", "-m", "generator", "check", "--spec", spec, "--root", SQLITE_EXAMPLE)
    session.run("pytest", "examples", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(tags=["ci"])
def native(session: nox.Session) -> None:
    """Build the host library and run the native test programs (ctest): the contract through
    the shared library, core units with a 20,000-file parser mutation fuzz, and the export check."""
    _install(session, "test", package=False)
    _cmake(session, "host", "native/build/host", "-DWORKER_FFI_TESTS=ON")
    session.run("ctest", "--test-dir", "native/build/host", "--output-on-failure", external=True)


# Real headers `ffispec import` is tested on: (Debian package, header).
SYSTEM_HEADERS = [("libsqlite3-dev", "/usr/include/sqlite3.h"), ("zlib1g-dev", "/usr/include/zlib.h"),
                  ("liblz4-dev", "/usr/include/lz4.h")]


def _system_headers(session: nox.Session) -> None:
    """Install the -dev packages of the real headers the import tests read, when missing
    (CI runs as root on Debian)."""
    missing = [pkg for pkg, header in SYSTEM_HEADERS if not Path(header).exists()]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.error(f"missing headers: install {' '.join(missing)}")
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", *missing, external=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session(tags=["ci"])
def tests(session: nox.Session) -> None:
    """Unit and integration tests: generator, header import and audit (over sqlite3.h, zlib.h
    and lz4.h, installed when missing), lock workflow, bindings (installed from this checkout,
    which builds the host library), worker service, loader fuzz."""
    _system_headers(session)
    _install(session, "test", "typecheck")
    session.run("pytest", "tests", *session.posargs)


@nox.session(tags=["ci"])
def conformance(session: nox.Session) -> None:
    """Build the host library and run the spec-derived conformance suite against it (Hypothesis
    `ci` profile); reports in reports/ (JSON, Markdown, JUnit XML)."""
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/host")
    session.run("pytest", "conformance", "--lib", HOST_LIB, "--hypothesis-profile", "ci",
                "--junitxml", "reports/conformance.xml", *session.posargs)


def _sqlite_dev(session: nox.Session) -> None:
    """libsqlite3 and <sqlite3.h> (installed with apt-get when missing; CI runs as root)."""
    if not Path("/usr/include/sqlite3.h").is_file():
        session.run("apt-get", "update", "-q", external=True)
        session.run("apt-get", "install", "-y", "-q", "libsqlite3-dev", external=True)


@nox.session(tags=["ci"])
def conformance_sqlite(session: nox.Session) -> None:
    """The same conformance core against the system libsqlite3, from the SQLite example's spec
    and the SQLite plug-in (an in-memory database, a statement with two parameters)."""
    _sqlite_dev(session)
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    session.run("pytest", "conformance", "--spec", f"{SQLITE_EXAMPLE}/spec/sqlite3.yaml",
                "--hypothesis-profile", "ci", "--report-dir", "reports/sqlite", *session.posargs)


@nox.session
def conformance_seeds(session: nox.Session) -> None:
    """The suite 20 times under the `dev` profile, each with a random seed, against the host
    library: no example depends on state an earlier one left (`-- --runs N --jobs N`)."""
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/host")
    session.run("python", "-m", "conformance.seeds", "--report", "reports/seeds.json",
                *(session.posargs or ["--runs", "20"]), "--", "--lib", HOST_LIB)


@nox.session
def conformance_seeds_sqlite(session: nox.Session) -> None:
    """The same proof against the system libsqlite3 (the SQLite example's spec and plug-in):
    20 `dev`-profile runs with random seeds (`-- --runs N --jobs N`)."""
    _sqlite_dev(session)
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "conformance.seeds", "--report", "reports/sqlite/seeds.json",
                *(session.posargs or ["--runs", "20"]),
                "--", "--spec", f"{SQLITE_EXAMPLE}/spec/sqlite3.yaml")


@nox.session(tags=["ci"])
def conformance_cuda_nogpu(session: nox.Session) -> None:
    """Build the CUDA backend (needs nvcc) and run the conformance suite against it on a
    machine without a GPU: no-GPU behaviour must follow the contract; GPU tests skip."""
    if not shutil.which("nvcc"):
        session.error("nvcc not found: the CUDA backend cannot be built here")
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "cuda", "native/build/cuda")
    session.run("pytest", "conformance", "--backend", "cuda", "--hypothesis-profile", "ci",
                "--report-dir", "reports/cuda", *session.posargs)


def _preload(session: nox.Session, *libs: str) -> str:
    paths = [session.run("g++", f"-print-file-name={lib}", external=True, silent=True).strip()
             for lib in libs]
    return " ".join(paths)


@nox.session(tags=["ci"])
def asan(session: nox.Session) -> None:
    """ASan+UBSan build of the host library: native tests, then 10,000 Hypothesis-made corrupt
    model files through the loader."""
    # The fuzz test loads the ASan library by path (ABI mode) from the source tree's bindings,
    # so the package (and its own native build) is not installed here.
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/asan", "-DWORKER_FFI_SANITIZE=address",
           "-DWORKER_FFI_BENCH=OFF", "-DWORKER_FFI_TESTS=ON")
    session.run("ctest", "--test-dir", "native/build/asan", "--output-on-failure", external=True)
    # Python is not linked against libstdc++, so ASan's __cxa_throw interceptor needs it preloaded.
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "tests/test_native_fuzz.py",
                env={"LD_PRELOAD": _preload(session, "libasan.so", "libstdc++.so"),
                     "ASAN_OPTIONS": "detect_leaks=0",
                     "WORKER_FFI_LIBRARY": "native/build/asan/libworker_ffi.so",
                     "WORKER_FFI_FUZZ_EXAMPLES": "10000"})


@nox.session(tags=["ci"])
def tsan(session: nox.Session) -> None:
    """TSan build of the host library: native tests, then the conformance thread-safety and
    lifecycle tests under TSan (a reported race fails the run)."""
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/tsan", "-DWORKER_FFI_SANITIZE=thread",
           "-DWORKER_FFI_BENCH=OFF", "-DWORKER_FFI_TESTS=ON")
    session.run("ctest", "--test-dir", "native/build/tsan", "--output-on-failure", external=True)
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "conformance/test_threads.py",
                "conformance/test_lifecycle.py", "--lib", "native/build/tsan/libworker_ffi.so",
                "--report-dir", "reports/tsan",
                env={"LD_PRELOAD": _preload(session, "libtsan.so"),
                     "TSAN_OPTIONS": "halt_on_error=1 exitcode=66"})


@nox.session(tags=["ci"])
def mutants(session: nox.Session) -> None:
    """Build every drifted variant of the host library (conformance/mutants/) and the wrapper
    mutants of the system libsqlite3, and prove the conformance suite catches each one."""
    _sqlite_dev(session)
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "conformance.mutants", *session.posargs)
    # Wrapper mutants of the system libsqlite3 (each forwards to the real library but one
    # function): the same core must catch each, and pass the unchanged wrapper.
    session.run("python", "-m", "conformance.plugins.sqlite3_subset.mutants")


# `nox -s ci`: every session tagged "ci", in two lanes that run side by side (CI has 2 cores and
# most sessions keep one busy). Sessions that write the same build tree share a lane: native,
# conformance and rust use native/build/host; only tests installs the package (setuptools'
# build/ in the checkout). Lanes are balanced by the sessions' wall time on a 2-core CI machine
# with both lanes running (tests ~6 min and mutants ~6 min; native, conformance, rust, the CUDA
# no-GPU checks, tsan and asan ~12.5 min; the short sessions that build nothing go to the first).
CI_LANES: tuple[tuple[str, ...], ...] = (
    ("tests", "mutants", "lint", "conformance_sqlite", "examples", "typecheck", "check"),
    ("native", "conformance", "rust", "conformance_cuda_nogpu", "tsan", "asan"),
)
# Debian packages the ci sessions install when missing, installed once before the lanes start
# (two apt-get runs at once would fight over dpkg's lock).
CI_DEBIAN = ["libsqlite3-dev", "zlib1g-dev", "liblz4-dev"]


def _ci_sessions() -> set[str]:
    return {name for name, func in nox.registry.get().items() if "ci" in getattr(func, "tags", [])}


@nox.session(python=False, default=False)
def ci(session: nox.Session) -> None:
    """Every CI session (tag "ci") in two parallel lanes; each lane's output is printed when it
    ends, and the run fails if any session failed. `nox -t ci` runs the same sessions one
    after another."""
    lanes = [name for lane in CI_LANES for name in lane]
    tagged = _ci_sessions()
    if sorted(lanes) != sorted(tagged):
        session.error(f"CI_LANES must list every session tagged ci exactly once: missing "
                      f"{sorted(tagged - set(lanes))}, not tagged or repeated "
                      f"{sorted(n for n in set(lanes) if lanes.count(n) > 1 or n not in tagged)}")
    _system_headers(session)  # a no-op when every header is there
    logs = ROOT / "reports" / "ci-lanes"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    procs = []
    for k, lane in enumerate(CI_LANES, 1):
        log = logs / f"lane-{k}.log"
        # --no-install is not used: each session sets itself up as it would alone.
        procs.append((k, lane, log, subprocess.Popen(
            [sys.executable, "-m", "nox", "--no-color", "-s", *lane, *session.posargs],
            cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)))
    failed = []
    for k, lane, log, proc in procs:
        rc = proc.wait()
        print(f"\n===== lane {k} ({', '.join(lane)}): exit {rc} after "
              f"{time.monotonic() - started:.0f} s =====", flush=True)
        sys.stdout.write(log.read_text(errors="replace"))
        sys.stdout.flush()
        if rc != 0:
            failed.append(k)
    summary = [line for _, _, log, _ in procs for line in log.read_text(errors="replace").splitlines()
               if line.startswith("nox > ") and (" was successful" in line or " failed" in line)]
    print("\n" + "\n".join(summary), flush=True)
    if failed:
        session.error(f"lane(s) {failed} failed; their output is above (and in {logs})")
    session.log(f"all {len(lanes)} ci sessions passed in {time.monotonic() - started:.0f} s")


# One generated crate per spec: the worker's, and the SQLite example's (the system libsqlite3).
RUST_CRATES = ["bindings/rust/worker_ffi", f"{SQLITE_EXAMPLE}/bindings/rust/sqlite3_subset"]
RUST_TARGET = "bindings/rust/target"  # shared by the crates and the benchmark: one build cache
RUST_MODELS = "native/build/rust-models"


def _cargo(session: nox.Session) -> dict[str, str]:
    """The environment for cargo against the host library; a clear error without a toolchain."""
    if shutil.which("cargo") is None:
        session.error("cargo not found: the Rust bindings need a Rust toolchain (>= 1.70, "
                      "https://rustup.rs); install it, or leave this session out "
                      "(`nox -t ci` without cargo fails here by design)")
    _install(session, "test", package=False)  # gguf and numpy write the test models
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/host")
    lib_dir = str(ROOT / "native" / "build" / "host")
    return {"CARGO_TARGET_DIR": str(ROOT / RUST_TARGET), "WORKER_FFI_LIB_DIR": lib_dir,
            # Doc tests and dependent binaries do not get the crate's run-time search path.
            "LD_LIBRARY_PATH": lib_dir, "WORKER_FFI_TEST_MODELS": str(ROOT / RUST_MODELS)}


@nox.session(tags=["ci"])
def rust(session: nox.Session) -> None:
    """The generated Rust bindings of the worker and the SQLite example: prove the crates are
    current (`ffispec check`), then unit, doc (compile_fail lifetime and Send/Sync proofs
    included) and integration tests with `cargo test --offline` against the host library and
    the system libsqlite3 (real SQL), rustdoc with warnings as errors, and
    `cargo clippy -D warnings` when installed."""
    env = _cargo(session)
    session.run("python", "-m", "generator", "check")
    session.run("python", "-m", "generator", "check", "--spec",
                f"{SQLITE_EXAMPLE}/spec/sqlite3.yaml", "--root", SQLITE_EXAMPLE)
    session.run("python", "-m", "conformance.models", RUST_MODELS, silent=True)
    for crate in RUST_CRATES:
        manifest = f"{crate}/Cargo.toml"
        session.run("cargo", "test", "--offline", "--manifest-path", manifest, *session.posargs,
                    env=env, external=True)
        # Generated doc comments and intra-doc links must be valid rustdoc.
        session.run("cargo", "doc", "--offline", "--no-deps", "--quiet", "--manifest-path",
                    manifest, env={**env, "RUSTDOCFLAGS": "-D warnings"}, external=True)
        if shutil.which("cargo-clippy"):
            session.run("cargo", "clippy", "--offline", "--all-targets", "--manifest-path",
                        manifest, "--", "-D", "warnings", env=env, external=True)
        else:
            session.log("cargo clippy is not installed: skipping the lint")


@nox.session(default=False)
def bench_rust(session: nox.Session) -> None:
    """Rust bindings overhead, one binary: getter wrapper vs raw extern "C" (target <= 1.05x),
    stream iterator vs raw loop (>= 0.95x); medians of interleaved rounds."""
    env = _cargo(session)
    session.run("python", "-m", "conformance.models", RUST_MODELS, silent=True)
    session.run("python", "-m", "conformance.models", RUST_MODELS, "--large-bytes", "4000000",
                silent=True)
    session.run("cargo", "run", "--release", "--offline", "--manifest-path",
                "bench/rust/Cargo.toml", "--", RUST_MODELS, *session.posargs, env=env,
                external=True)


@nox.session(default=False)
def gpu_conformance(session: nox.Session) -> None:
    """On a GPU machine: the conformance suite against the CUDA build, and host vs CUDA
    differential streams. Off by default (CI has no GPU)."""
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/host")
    _cmake(session, "cuda", "native/build/cuda")
    session.run("pytest", "conformance", "--lib", CUDA_LIB, "--lib", HOST_LIB,
                "--hypothesis-profile", "ci", "--report-dir", "reports/gpu", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """CPU benchmarks: generator, diff, native validation and throughput, bindings, worker,
    the worker's request validation from the generated contract."""
    _install(session, "test", "bench")
    # Exit status 1: a target missed (the script says which); the other benchmarks still run.
    session.run("python", "bench/bench_generate.py", success_codes=[0, 1])
    session.run("python", "bench/bench_diff.py", success_codes=[0, 1])
    session.run("python", "bench/bench_import.py")
    session.run("python", "bench/bench_bindings.py")
    session.run("python", "bench/bench_worker.py")
    session.run("python", "bench/bench_validation.py")
