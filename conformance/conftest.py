"""pytest wiring of the conformance suite: options, Hypothesis profiles, fixtures, isolation
and the reports. The checks themselves live in the test_*.py modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from conformance import contract, isolation, report
from conformance.calls import Caller
from conformance.hooks import HookShapeError
from conformance.library import Library
from conformance.plugin import Plugin, UsageError
from conformance.rules import RuleBook
from conformance.world import LazyWorld, NoDevice, World
from generator.problems import SpecError

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
    group = parser.getgroup("conformance", "conformance suite (any spec, any library)")
    group.addoption("--spec", default=None, metavar="SPEC",
                    help="the spec the library claims (default: ini conformance_spec, "
                         "$CONFORMANCE_SPEC, spec/worker_ffi.yaml)")
    group.addoption("--plugin", default=None, metavar="MODULE",
                    help="provider plug-in, a module or .py path (default: ini conformance_plugin, "
                         "$CONFORMANCE_PLUGIN, conformance.plugins.<interface name>)")
    group.addoption("--lib", action="append", default=[], metavar="PATH",
                    help="shared library claiming the contract; give twice for a differential run "
                         "(default: ini conformance_lib, $CONFORMANCE_LIB, the plug-in's build)")
    parser.addini("conformance_spec", "spec the library claims (relative to the ini file)")
    parser.addini("conformance_plugin", "provider plug-in module or .py path")
    parser.addini("conformance_lib", "shared library to test (relative to the ini file)")
    group.addoption("--backend", choices=["host", "cuda"], default="host",
                    help="which project build to test when --lib is not given (default host)")
    group.addoption("--header", default=None, metavar="PATH",
                    help="the header the library was built against (default native/include)")
    group.addoption("--plugin-data", "--models-dir", dest="plugin_data", default=None, metavar="DIR",
                    help="pre-made test data for the plug-in (default: it makes them in a temp dir)")
    group.addoption("--shard", default=None, metavar="K/N",
                    help="run only the K-th of N interleaved slices of the collected tests "
                         "(1 <= K <= N), so N processes share a run; every test is in one slice")
    group.addoption("--report-dir", default=os.environ.get("CONFORMANCE_REPORT_DIR", "reports"),
                    metavar="DIR", help="where conformance.json and conformance.md go")


def _setting(config: pytest.Config, option: str, ini: str, env: str) -> str | None:
    """--option, else the ini value (relative to the ini file), else the environment."""
    given = config.getoption(option)
    if given:
        return given
    value = config.getini(ini)
    if value:
        base = Path(config.inipath).parent if config.inipath else Path.cwd()
        return os.fspath(base / value) if ini != "conformance_plugin" or value.endswith(".py") \
            else value
    return os.environ.get(env) or None


def pytest_configure(config: pytest.Config) -> None:
    spec_path = _setting(config, "--spec", "conformance_spec", "CONFORMANCE_SPEC")
    if spec_path:
        if not Path(spec_path).is_file():
            raise pytest.UsageError(f"--spec {spec_path}: no such file")
        contract.use(spec_path)
    contract.use_plugin(_setting(config, "--plugin", "conformance_plugin", "CONFORMANCE_PLUGIN"))
    try:
        contract.load()
        contract.plugin()
        contract.hooks()
    except SpecError as exc:
        raise pytest.UsageError(f"the spec {contract.path()} is not valid:\n{exc.render()}") from None
    except (UsageError, HookShapeError) as exc:
        raise pytest.UsageError(str(exc)) from None
    # --hypothesis-profile wins, then $HYPOTHESIS_PROFILE, then `ci`. Loaded here, not at import:
    # this conftest is imported after Hypothesis' plugin applied the command-line profile.
    settings.load_profile(config.getoption("hypothesis_profile", None)
                          or os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    config.addinivalue_line("markers", "gpu: needs handles the library can create here (skipped, with "
                            "the plug-in's reason, when it cannot: no device)")
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
    paths = [Path(p).resolve() for p in _library_paths(pytestconfig)]
    libs = [Library(p, label=f"lib{i}:{p.parent.name}/{p.name}") for i, p in enumerate(paths)]
    for lib in libs:
        if not lib.path.is_file():
            pytest.exit(f"no library at {lib.path}: build it or pass --lib PATH", returncode=4)
    pytestconfig._conformance_libs = paths
    return libs


def _library_paths(config: pytest.Config) -> list[str]:
    given = config.getoption("--lib")
    if given:
        return given
    one = _setting(config, "--lib", "conformance_lib", "CONFORMANCE_LIB")
    if one:
        return [one]
    default = contract.plugin().default_library(config.getoption("--backend"))
    if default is None:
        raise pytest.UsageError(f"no library to test for {contract.path().name}: pass --lib PATH "
                                "(or set conformance_lib in the ini file, or $CONFORMANCE_LIB)")
    return [str(default)]


@pytest.fixture(scope="session")
def library(libraries) -> Library:
    return libraries[0]


@pytest.fixture(scope="session")
def plugin(pytestconfig, tmp_path_factory) -> Plugin:
    """The active provider plug-in, with its session resources prepared."""
    plug = contract.plugin()
    plug.config = pytestconfig
    if not getattr(plug, "_conformance_ready", False):
        given = pytestconfig.getoption("--plugin-data")
        try:
            plug.setup(Path(given).resolve() if given else tmp_path_factory.mktemp("plugin-data"))
        except UsageError as exc:  # a missing package or data the plug-in needs: say so once
            pytest.exit(f"plug-in {type(plug).__name__}: {exc}", returncode=4)
        plug._conformance_ready = True
    return plug


@pytest.fixture
def caller(library, spec, rules, request) -> Caller:
    return Caller(library, spec, rules, test=request.node.nodeid)


def _probe_world(config: pytest.Config, caller: Caller, plugin, rules, what: str) -> None:
    """Build and tear down the fixtures once per library and test process, in a forked child
    (the test process keeps off the device): a crash while building is a finding of its own,
    and a library without a device skips its tests. Each test's child builds its own world
    afterwards, so a crash there is still caught, as a finding of that test."""
    probed: dict[Path, NoDevice | None] = config.__dict__.setdefault("_conformance_probed", {})
    key = caller.library.path
    if key not in probed:
        def probe() -> None:
            World.build(caller, plugin).teardown()

        try:
            isolation.run_forked(probe, rules, what)
            probed[key] = None
        except NoDevice as exc:
            probed[key] = exc
    if probed[key] is not None:
        pytest.skip(str(probed[key]))


@pytest.fixture
def world(caller, plugin, rules, pytestconfig) -> World:
    """One live handle of every type, stale and forged handles, valid values."""
    _probe_world(pytestconfig, caller, plugin, rules,
                 "building the fixtures (one live handle of every type)")
    w = LazyWorld(caller)
    yield w
    w.teardown()


@pytest.fixture
def worlds(libraries, spec, rules, plugin, request) -> list[LazyWorld]:
    """A world in each of the first two libraries (differential tests)."""
    out = []
    for lib in libraries[:2]:
        caller = Caller(lib, spec, rules, test=request.node.nodeid)
        _probe_world(request.config, caller, plugin, rules, f"building the fixtures on {lib.label}")
        out.append(LazyWorld(caller))
    return out


def _shard(config: pytest.Config) -> tuple[int, int] | None:
    """--shard K/N as (K, N); a usage error naming the option when it is malformed."""
    text = config.getoption("--shard")
    if text is None:
        return None
    k, _, n = str(text).partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise pytest.UsageError(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(k), int(n)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = _shard(config)
    if shard is not None:
        k, n = shard
        # Interleaved, so each slice gets a share of every test file and parameter range.
        kept = [item for i, item in enumerate(items) if i % n == k - 1]
        dropped = [item for i, item in enumerate(items) if i % n != k - 1]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    differential = len(config.getoption("--lib")) >= 2
    for item in items:
        if item.get_closest_marker("differential") and not differential:
            item.add_marker(pytest.mark.skip(reason="differential: pass --lib A --lib B"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu"):
        lib = getattr(item.session.config, "_conformance_first_lib", None)
        if lib is None:
            lib = Library(Path(_library_paths(item.config)[0]).resolve(), "probe")
            item.session.config._conformance_first_lib = lib
        if lib.path.is_file() and lib.unavailable:
            pytest.skip(lib.unavailable)


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


collect_ignore_glob = ["plugins/*"]  # a plug-in's tests are collected through test_plugin.py
