"""The SQLite example runs from the source tree: the generated package `sqlite3_ffi` lives in
examples/sqlite/, the runtime and the generator at the repository root."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1]
REPO = EXAMPLE.parents[1]
for path in (EXAMPLE, REPO):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
