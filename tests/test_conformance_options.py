"""How the conformance suite is pointed at a spec, a library and a plug-in: the command line,
the ini file or the environment, and clear usage errors (never a traceback) when one is wrong.
Collection only: nothing here loads a library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "spec" / "worker_ffi.yaml"


def _collect(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
             cwd: Path = REPO) -> tuple[subprocess.CompletedProcess[str], dict]:
    report = tmp_path / "report"
    res = subprocess.run([sys.executable, "-m", "pytest", os.fspath(REPO / "conformance"),
                          "--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", os.fspath(cwd),
                          "--report-dir", os.fspath(report), *args],
                         cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, **(env or {}), "PYTHONPATH": os.fspath(REPO)})
    data = json.loads((report / "conformance.json").read_text()) if (report / "conformance.json").is_file() else {}
    return res, data


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """The worker spec under another project root (its locations stay relative to it)."""
    (tmp_path / "proj" / "spec").mkdir(parents=True)
    out = tmp_path / "proj" / "spec" / "worker_ffi.yaml"
    shutil.copy(SPEC, out)
    shutil.copy(REPO / "spec" / "schema.json", out.parent / "schema.json")
    return out


def test_default_is_the_project_spec(tmp_path):
    res, data = _collect(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert Path(data["spec"]) == SPEC
    assert data["interface"] == "worker_ffi"


@pytest.mark.parametrize("how", ["option", "ini", "environment"])
def test_spec_from_option_ini_or_environment(tmp_path, spec_copy, how):
    args: list[str] = []
    env: dict[str, str] = {}
    cwd = REPO
    if how == "option":
        args = ["--spec", os.fspath(spec_copy)]
    elif how == "environment":
        env = {"CONFORMANCE_SPEC": os.fspath(spec_copy)}
    else:
        cwd = spec_copy.parent.parent
        (cwd / "pytest.ini").write_text("[pytest]\nconformance_spec = spec/worker_ffi.yaml\n")
        args = ["-c", os.fspath(cwd / "pytest.ini")]
    res, data = _collect(tmp_path, *args, env=env, cwd=cwd)
    assert res.returncode == 0, res.stdout + res.stderr
    assert Path(data["spec"]) == spec_copy.resolve()


def test_option_wins_over_environment(tmp_path, spec_copy):
    res, data = _collect(tmp_path, "--spec", os.fspath(SPEC), env={"CONFORMANCE_SPEC": os.fspath(spec_copy)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert Path(data["spec"]) == SPEC


def test_invalid_spec_is_a_usage_error_with_its_location(tmp_path, spec_copy):
    text = spec_copy.read_text().replace("    errors: [INVALID_PARAMETER, UNKNOWN]\n",
                                         "    errors: [INVALID_PARAMETER, NO_SUCH_CODE]\n", 1)
    spec_copy.write_text(text)
    res, _ = _collect(tmp_path, "--spec", os.fspath(spec_copy))
    out = res.stdout + res.stderr
    assert res.returncode == 4, out
    assert "is not valid" in out and "NO_SUCH_CODE" in out and "worker_ffi.yaml:" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("plugin,says", [("no_such_module_anywhere", "cannot be imported"),
                                         ("json", "has no `PLUGIN")])
def test_bad_plugin_is_a_usage_error(tmp_path, plugin, says):
    res, _ = _collect(tmp_path, "--plugin", plugin)
    out = res.stdout + res.stderr
    assert res.returncode == 4 and says in out and "Traceback" not in out, out


def test_missing_spec_file_is_a_usage_error(tmp_path):
    res, _ = _collect(tmp_path, "--spec", os.fspath(tmp_path / "nope.yaml"))
    out = res.stdout + res.stderr
    assert res.returncode == 4 and "no such file" in out and "Traceback" not in out, out


def _collected_ids(res: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in res.stdout.splitlines() if "::" in line]


def test_shards_partition_the_collected_tests(tmp_path):
    whole, _ = _collect(tmp_path, "-k", "test_negative")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    every = _collected_ids(whole)
    assert len(every) > 3
    slices = []
    for k in (1, 2, 3):
        res, _ = _collect(tmp_path, "-k", "test_negative", "--shard", f"{k}/3")
        assert res.returncode == 0, res.stdout + res.stderr
        slices.append(_collected_ids(res))
    assert sorted(sum(slices, [])) == sorted(every)  # each test in exactly one slice
    assert all(slices) and max(map(len, slices)) - min(map(len, slices)) <= 1


@pytest.mark.parametrize("value", ["0/3", "4/3", "two/3", "1-3"])
def test_malformed_shard_is_a_usage_error(tmp_path, value):
    res, _ = _collect(tmp_path, "--shard", value)
    assert res.returncode == 4, res.stdout + res.stderr
    assert f"--shard {value}: expected K/N" in res.stderr
    assert "Traceback" not in res.stdout + res.stderr
