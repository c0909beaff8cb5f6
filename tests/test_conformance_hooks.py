"""The conformance core finds its testing hooks only by the spec's `role:` entries: the worker
spec declares all five; the same functions without roles are not hooks, whatever their names;
a hook whose signature cannot serve its role, and a plug-in that still names hooks, are usage
errors with the place and the fix (never a traceback)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.hooks import FAULTS, Hooks, HookShapeError
from generator.diff.source import load_spec_with_lines
from generator.roles import TESTING_ROLES

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "spec" / "worker_ffi.yaml"
ROLE_LINE = re.compile(r"^    role: (testing_\w+)\n", re.M)


def _spec_copy(tmp_path: Path, text: str) -> Path:
    (tmp_path / "spec").mkdir(exist_ok=True)
    out = tmp_path / "spec" / "worker_ffi.yaml"
    out.write_text(text)
    shutil.copy(REPO / "spec" / "schema.json", out.parent / "schema.json")
    return out


def test_the_worker_spec_declares_every_hook_by_role() -> None:
    hooks = Hooks(load_spec_with_lines(SPEC)[0])
    assert set(hooks.by_role) == set(TESTING_ROLES)
    assert {f.name for f in hooks.faults} == {"cuda_testing_fail_call", "cuda_testing_fail_allocation",
                                              "cuda_testing_inject_fault"}
    assert [f.role for f in hooks.faults] == list(FAULTS)  # the call hook is disarmed first


def test_hooks_are_found_by_role_not_by_name(tmp_path: Path) -> None:
    text = SPEC.read_text()
    assert len(ROLE_LINE.findall(text)) == len(TESTING_ROLES)
    spec = load_spec_with_lines(_spec_copy(tmp_path, ROLE_LINE.sub("", text)))[0]
    assert any(f.name == "cuda_testing_fail_call" for f in spec.functions)
    hooks = Hooks(spec)
    assert hooks.by_role == {} and hooks.faults == [] and hooks.hook_names == set()


def test_a_hook_that_cannot_serve_its_role_is_refused_with_its_line(tmp_path: Path) -> None:
    # The live-handle count moved to a function that takes a handle.
    text = SPEC.read_text().replace("    role: testing_live_handles\n", "")
    text = text.replace("  - name: cuda_model_get_vocab_size\n",
                        "  - name: cuda_model_get_vocab_size\n    role: testing_live_handles\n", 1)
    path = _spec_copy(tmp_path, text)
    with pytest.raises(HookShapeError) as err:
        Hooks(load_spec_with_lines(path)[0])
    line = text.splitlines().index("  - name: cuda_model_get_vocab_size") + 1
    assert f"worker_ffi.yaml:{line}:" in str(err.value)
    assert "takes no argument" in str(err.value) and "remove the role" in str(err.value)
    # The suite reports it as a usage error before collecting anything.
    res = subprocess.run([sys.executable, "-m", "pytest", os.fspath(REPO / "conformance"), "--collect-only",
                          "-q", "-p", "no:cacheprovider", "--spec", os.fspath(path),
                          "--report-dir", os.fspath(tmp_path / "report")],
                         cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.fspath(REPO)})
    out = res.stdout + res.stderr
    assert res.returncode == 4 and "role: testing_live_handles" in out and "Traceback" not in out, out


def test_a_plugin_that_still_names_hooks_is_a_usage_error(tmp_path: Path) -> None:
    plugin = tmp_path / "old_plugin.py"
    plugin.write_text("from conformance.plugin import Plugin\n\n"
                      "class Old(Plugin):\n"
                      "    roles = {'testing_fail_call': 'cuda_testing_fail_call'}\n\n"
                      "PLUGIN = Old\n")
    res = subprocess.run([sys.executable, "-m", "pytest", os.fspath(REPO / "conformance"), "--collect-only",
                          "-q", "-p", "no:cacheprovider", "--plugin", os.fspath(plugin),
                          "--report-dir", os.fspath(tmp_path / "report")],
                         cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.fspath(REPO)})
    out = res.stdout + res.stderr
    assert res.returncode == 4 and "Old.roles" in out and "role: testing_fail_call" in out, out
    assert "Traceback" not in out
