"""One session per job. `nox -l` lists them; `nox -t ci` runs what CI runs.

CI runs on a 2-core machine with no GPU: the CUDA backend is compiled when nvcc exists and
its no-GPU behaviour is tested; `gpu_conformance` and `bench_gpu` run on a GPU machine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["check", "lint", "typecheck", "tests", "conformance"]
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
    session.run("cmake", "-S", "native", "-B", build_dir, f"-DWORKER_FFI_BACKEND={backend}",
                "-DCMAKE_BUILD_TYPE=RelWithDebInfo", *extra, external=True)
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
    session.run("mypy", "--strict", "generator")


@nox.session
def build(session: nox.Session) -> None:
    """Build the native library: the host backend always, the CUDA backend when nvcc exists."""
    _cmake(session, "host", "native/build/host")
    if shutil.which("nvcc"):
        _cmake(session, "cuda", "native/build/cuda")
    else:
        session.log("nvcc not found: skipping the CUDA backend")


@nox.session(tags=["ci"])
def tests(session: nox.Session) -> None:
    """Unit and integration tests (generator, bindings, native via bindings, worker service)."""
    _install(session, "test")
    session.run("pytest", "tests", *session.posargs)


@nox.session(tags=["ci"])
def conformance(session: nox.Session) -> None:
    """Build the host library and run the spec-derived conformance suite (Hypothesis `ci`
    profile), writing JSON, JUnit XML and Markdown reports under reports/."""
    _install(session, "test", package=False)
    session.install(*GENERATOR_DEPS)
    _cmake(session, "host", "native/build/host")
    session.run("pytest", "conformance", "--lib", HOST_LIB, "--hypothesis-profile", "ci",
                "--junitxml", "reports/conformance.xml", *session.posargs)
