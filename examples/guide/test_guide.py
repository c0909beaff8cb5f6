"""docs/your-own-c-abi.md is a script: every ```bash block (except `bash no-run`) runs, in order,
in one shell, in an empty folder, with `ffispec` and `ffispec_runtime` taken from this
checkout. A guide that drifts from the toolkit fails here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "your-own-c-abi.md"
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def test_the_guide_runs_from_an_empty_folder_to_locked_contracts(tmp_path: Path) -> None:
    blocks = BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "ffispec"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m generator "$@"\n')
    shim.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    work = tmp_path / "work"
    work.mkdir()
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([".", str(REPO)])}
    proc = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "counter bindings ok" in proc.stdout and "SQLite 3." in proc.stdout
    for spec_dir, version in (("counter", "1.1.0"), ("mini-sqlite", "1.0.0")):
        timeline = (work / spec_dir / "coordination" / "master-timeline.md").read_text()
        assert f"FFI lock v{version} achieved" in timeline
