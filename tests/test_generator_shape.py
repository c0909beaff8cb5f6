"""The generator's shape: no import cycles between its modules (counting imports inside
functions, which only hide a cycle; not imports for type annotations), no generator module
imported inside a function, modules under 300 lines, one module of exit codes, and
`ffispec generate` loading nothing of the diff, lock and header-import commands."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "generator"
MAX_LINES = 300
# Modules allowed over MAX_LINES, each with the reason (none today).
OVERSIZED: dict[str, str] = {}
# Third-party modules imported where they are used, not at module level: each is heavy and
# needed only on one path (an invalid spec, a fallback, `verify-lock --lib`).
LAZY_IMPORTS = {"jsonschema", "fastjsonschema", "cffi", "pycparser"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that runs at import or call time: `if TYPE_CHECKING:` blocks are left out
    (imports for annotations only cannot form a cycle at run time)."""
    out: list[ast.AST] = []
    work = [tree]
    while work:
        node = work.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and \
                node.test.id == "TYPE_CHECKING":
            work.extend(node.orelse)
            continue
        out.append(node)
        work.extend(ast.iter_child_nodes(node))
    return out


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles() -> None:
    cycle = _cycle(_imports())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_detector_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_exit_codes_have_one_home(path: Path) -> None:
    """Exit statuses are named once, in generator/exitcodes.py; other modules import them."""
    if path.name == "exitcodes.py":
        return
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign):
            names = [t.id for t in ast.walk(node) if isinstance(t, ast.Name)
                     and isinstance(t.ctx, ast.Store)]
            assert not [n for n in names if n.startswith("EXIT_")], \
                f"{path.name}:{node.lineno} defines an exit code; import it from exitcodes"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: _module_name(p))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    name = _module_name(path)
    if name in OVERSIZED:
        assert lines > MAX_LINES, f"{name} has {lines} lines now: remove it from OVERSIZED"
        return
    assert lines <= MAX_LINES, (f"{name} has {lines} lines (at most {MAX_LINES}): split it by "
                                "responsibility into sibling modules or a subpackage")


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: _module_name(p))
def test_imports_are_at_module_level(path: Path) -> None:
    """An import inside a function hides a cycle or a slow start-up; only the heavy optional
    third-party modules of LAZY_IMPORTS are imported where they are used."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert all(n.split(".")[0] in LAZY_IMPORTS for n in names), \
                f"{path.name}:{node.lineno} imports {names} inside {func.name}(); import at module level"


def test_generate_loads_only_what_it_needs(tmp_path: Path) -> None:
    """`ffispec generate` imports neither the diff classifier, nor the lock commands, nor the
    header importer (the CLI loads a subcommand's module only when it runs)."""
    code = ("import sys; from generator.cli import main; rc = main(sys.argv[1:]); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('generator')))); "
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "generate", "--root", str(tmp_path),
                           "--spec", str(PACKAGE.parent / "spec" / "worker_ffi.yaml")],
                          cwd=PACKAGE.parent, capture_output=True, text=True, check=True)
    loaded = set(proc.stdout.split("\n")[-2].split())
    assert "generator.commands" in loaded and "generator.render" in loaded
    unwanted = sorted(m for m in loaded if m.startswith(("generator.diff", "generator.headers"))
                      or m in ("generator.lock.cli", "generator.lock.gate", "generator.lock.verify"))
    assert not unwanted, f"`ffispec generate` imported {unwanted}"
