"""One session per job. `nox -l` lists them; `nox -t ci` runs what CI runs.

CI runs on a 2-core machine with no GPU: the CUDA backend is compiled when nvcc exists and
its no-GPU behaviour is tested; `gpu_conformance` and `bench_gpu` run on a GPU machine."""

from __future__ import annotations

import os
import shutil
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
    session.run("ruff", "check", "generator", "worker_ffi", "worker", "conformance", "bench",
                "tests", "noxfile.py")


@nox.session(tags=["ci"])
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the generator, and over a sample program using the bindings."""
    _install(session, "typecheck", package=False)
    session.install(*GENERATOR_DEPS)
    session.run("mypy", "--strict", "generator", "worker_ffi", "tests/typing_sample.py")


@nox.session
def build(session: nox.Session) -> None:
    """Build the native library: the host backend always, the CUDA backend when nvcc exists."""
    _cmake(session, "host", "native/build/host")
    if shutil.which("nvcc"):
        _cmake(session, "cuda", "native/build/cuda")
    else:
        session.log("nvcc not found: skipping the CUDA backend")


@nox.session(tags=["ci"])
def native(session: nox.Session) -> None:
    """Build the host library and run the native test programs (ctest): the contract through
    the shared library, core units with a 20,000-file parser mutation fuzz, and the export check."""
    _install(session, "test", package=False)
    _cmake(session, "host", "native/build/host", "-DWORKER_FFI_TESTS=ON")
    session.run("ctest", "--test-dir", "native/build/host", "--output-on-failure", external=True)


@nox.session(tags=["ci"])
def tests(session: nox.Session) -> None:
    """Unit and integration tests: generator, lock workflow, bindings (installed from this
    checkout, which builds the host library), worker service, loader fuzz."""
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


@nox.session
def conformance_seeds(session: nox.Session) -> None:
    """The suite 20 times under the `dev` profile, each with a random seed, against the host
    library: no example depends on state an earlier one left (`-- --runs N --jobs N`)."""
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/host")
    session.run("python", "-m", "conformance.seeds", *(session.posargs or ["--runs", "20"]),
                "--", "--lib", HOST_LIB)


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
    _install(session, "test")
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
    """Build every drifted variant of the host library (conformance/mutants/) and prove the
    conformance suite catches each one."""
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "conformance.mutants", *session.posargs)


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
    """CPU benchmarks: generator, diff, native validation and throughput, bindings, worker."""
    _install(session, "test", "bench")
    session.run("python", "bench/bench_generate.py")
    session.run("python", "bench/bench_diff.py")
    session.run("python", "bench/bench_bindings.py")
    session.run("python", "bench/bench_worker.py")
