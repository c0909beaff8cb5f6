"""The per-user cache directory of ffispec ($XDG_CACHE_HOME/ffispec, else ~/.cache/ffispec):
compiled templates, the compiled schema validator, what included headers declare. Everything
in it is keyed by what it was made from, so a stale entry is never used; None when it cannot
be created (a read-only home), and the caller then does the work every time."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base, "ffispec", *parts)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return directory
