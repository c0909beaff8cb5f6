"""Problems found in a spec: each one knows its rule, where it is, and how to fix it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """A position in a source file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str
    location: Location
    path: Path = ()
    hint: str = ""

    @property
    def dotted_path(self) -> str:
        return format_path(self.path)

    @property
    def fingerprint(self) -> str:
        raw = f"{self.rule}:{self.dotted_path}:{self.message}".encode()
        return hashlib.sha256(raw).hexdigest()[:12]

    def render(self) -> str:
        where = f" (at {self.dotted_path})" if self.path else ""
        text = f"{self.location}: error[{self.rule}]: {self.message}{where}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _order(p: Problem) -> tuple[str, int, int, str]:
    return (p.location.file, p.location.line, p.location.column, p.rule)


class SpecError(Exception):
    """Raised once with every problem found; never carries a Python traceback to users."""

    def __init__(self, problems: Iterable[Problem], cascades: Iterable[Problem] = ()):
        # Root causes first, in file order; then the problems they may have caused.
        self.problems = sorted(problems, key=_order) + sorted(cascades, key=_order)
        super().__init__(f"{len(self.problems)} problem(s) in the spec")

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        lines.append(f"{len(self.problems)} problem(s) found.")
        return "\n".join(lines)
