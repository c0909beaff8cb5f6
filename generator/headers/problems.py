"""Problems with headers that stop an import (they do not preprocess or parse), and where
things are in a header."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Where:
    """A place in a header: file and 1-based line (0 when unknown), optional column."""

    file: str
    line: int
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


@dataclass(frozen=True)
class HeaderProblem:
    rule: str
    message: str
    where: Where
    hint: str = ""

    def render(self) -> str:
        text = f"{self.where}: error[{self.rule}]: {self.message}"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")


class HeaderError(Exception):
    """Headers that cannot be read: every problem, rendered once, never a traceback."""

    def __init__(self, problems: Iterable[HeaderProblem]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) reading the headers")

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        lines.append(f"{len(self.problems)} problem(s) found.")
        return "\n".join(lines)
