"""pytest wiring of the conformance suite: options, Hypothesis profiles, fixtures, isolation
and the reports. The checks themselves live in the test_*.py modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from conformance import contract, isolation, report
from conformance.calls import Caller
from conformance.library import REPO, Library, default_library
from conformance.rules import RuleBook
from conformance.world import LazyWorld, NoDevice, World

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=25, derandomize=True, database=None,
                          deadline=None, print_blob=False, suppress_health_check=_SLOW_OK,
                          stateful_step_count=25)
settings.register_profile("dev", max_examples=100, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK, stateful_step_count=40)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK, stateful_step_count=80)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "worker_ffi conformance suite")
    group.addoption("--lib", action="append", default=[], metavar="PATH",
                    help="shared library claiming the contract; give twice for a differential run")
    group.addoption("--backend", choices=["host", "cuda"], default="host",
                    help="which project build to test when --lib is not given (default host)")
    group.addoption("--header", default=None, metavar="PATH",
                    help="the header the library was built against (default native/include)")
    group.addoption("--models-dir", default=None, metavar="DIR",
                    help="pre-generated test models (default: run `python -m conformance.models`)")
    group.addoption("--report-dir", default=os.environ.get("CONFORMANCE_REPORT_DIR", "reports"),
                    metavar="DIR", help="where conformance.json and conformance.md go")


def pytest_configure(config: pytest.Config) -> None:
    # --hypothesis-profile wins, then $HYPOTHESIS_PROFILE, then `ci`. Loaded here, not at import:
    # this conftest is imported after Hypothesis' plugin applied the command-line profile.
    settings.load_profile(config.getoption("hypothesis_profile", None)
                          or os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    config.addinivalue_line("markers", "gpu: needs a usable device (skipped when there is none)")
    config.addinivalue_line("markers", "isolated: runs in a forked child; a crash is a finding")
    config.addinivalue_line("markers", "differential: needs two libraries (--lib A --lib B)")
    config.pluginmanager.register(report.ReportPlugin(config), "conformance-report")


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def spec():
    return contract.load()


@pytest.fixture(scope="session")
def rules(spec) -> RuleBook:
    return RuleBook(spec)


@pytest.fixture(scope="session")
def libraries(pytestconfig) -> list[Library]:
    paths = [Path(p).resolve() for p in pytestconfig.getoption("--lib")]
    backend = pytestconfig.getoption("--backend")
    if not paths:
        paths = [default_library(backend)]
    libs = [Library(p, label=f"lib{i}:{p.parent.name}/{p.name}") for i, p in enumerate(paths)]
    for lib in libs:
        if not lib.path.is_file():
            pytest.exit(f"no library at {lib.path}: build it (cmake -S native -B "
                        f"native/build/{backend} -DWORKER_FFI_BACKEND={backend} && cmake --build "
                        f"native/build/{backend} -j2) or pass --lib PATH", returncode=4)
    return libs


@pytest.fixture(scope="session")
def library(libraries) -> Library:
    return libraries[0]


@pytest.fixture(scope="session")
def models(pytestconfig, tmp_path_factory) -> dict[str, Path]:
    """Test models by stem (`tiny`, the invalid variants of conformance.models, ...)."""
    given = pytestconfig.getoption("--models-dir")
    out = Path(given) if given else tmp_path_factory.mktemp("models")
    if not given:
        subprocess.run([sys.executable, "-m", "conformance.models", os.fspath(out)],
                       cwd=REPO, check=True, capture_output=True)
    found = {g.stem: g.resolve() for g in sorted(out.glob("*.gguf"))}
    if "tiny" not in found:
        pytest.exit(f"no tiny.gguf test model in {out}", returncode=4)
    empty = out / "empty.gguf"
    empty.write_bytes(b"")
    found.update(empty=empty.resolve(), missing=(out / "does-not-exist.gguf").resolve())
    return found


@pytest.fixture
def caller(library, spec, rules, request) -> Caller:
    return Caller(library, spec, rules, test=request.node.nodeid)


@pytest.fixture
def world(caller, models, rules) -> World:
    """A live context, model and inference, plus stale and forged handles of every type."""
    def probe() -> None:  # in a forked child first: a crash while building is a finding
        World.build(caller, models).teardown()

    try:
        isolation.run_forked(probe, rules, "building the fixtures (context, model, inference)")
    except NoDevice as exc:
        pytest.skip(str(exc))
    w = LazyWorld(caller, models)
    yield w
    w.teardown()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    differential = len(config.getoption("--lib")) >= 2
    for item in items:
        if item.get_closest_marker("differential") and not differential:
            item.add_marker(pytest.mark.skip(reason="differential: pass --lib A --lib B"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu"):
        lib = item.session.config._conformance_first_lib if hasattr(
            item.session.config, "_conformance_first_lib") else None
        if lib is None:
            paths = item.config.getoption("--lib") or [
                default_library(item.config.getoption("--backend"))]
            lib = Library(Path(paths[0]).resolve(), "probe")
            item.session.config._conformance_first_lib = lib
        if lib.path.is_file() and lib.device_count == 0:
            pytest.skip(f"no GPU: cuda_get_device_count() is 0 for {lib.path}")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    if not pyfuncitem.get_closest_marker("isolated"):
        return None
    rules = pyfuncitem.funcargs.get("rules") or RuleBook(pyfuncitem.funcargs["spec"])
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    def body() -> None:
        # Worlds are built here, in the child, before the test takes any baseline.
        for value in args.values():
            for w in value if isinstance(value, list) else [value]:
                if isinstance(w, LazyWorld):
                    w.build()
        pyfuncitem.obj(**args)

    isolation.run_forked(body, rules, pyfuncitem.name)
    return True
