"""A spec file read into plain data plus the line and column of every node (`RawSpec`), and
the project root that generated files name the spec relative to."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import yaml

from generator.loader.events import NODE_SLACK, NODES_PER_CHARACTER, YAML_LOADER, Builder
from generator.problems import Location, Path, Problem, SpecError

# The project root of the running command (`--root`): generated files name the spec relative
# to it, so they do not depend on the directory the command was started from.
PROJECT_ROOT: contextvars.ContextVar[str | None] = contextvars.ContextVar("root", default=None)


def display_path(file: str) -> str:
    """`file` relative to the project root when it lies inside it, else as given."""
    root = PROJECT_ROOT.get()
    if root is None:
        return file
    try:
        rel = os.path.relpath(os.path.abspath(file), os.path.abspath(root))
    except ValueError:
        return file
    return file if rel.startswith("..") else rel.replace(os.sep, "/")


class Locations(Mapping[Path, Location]):
    """Where each node of a spec starts: path -> Location. The parser's marks are kept as the
    parser made them and a Location is built when one is looked up: a spec has one mark per
    node, and a run looks at few of them."""

    __slots__ = ("file", "_marks")

    def __init__(self, file: str, marks: dict[Path, Any]) -> None:
        self.file = file
        self._marks = marks

    def __getitem__(self, path: Path) -> Location:
        mark = self._marks[path]
        return Location(self.file, mark.line + 1, mark.column + 1)

    def __contains__(self, path: object) -> bool:
        return path in self._marks

    def __iter__(self) -> Iterator[Path]:
        return iter(self._marks)

    def __len__(self) -> int:
        return len(self._marks)

    def lines(self) -> Iterator[tuple[Path, int]]:
        """(path, line) of every node, without building a Location for each."""
        for path, mark in self._marks.items():
            yield path, mark.line + 1

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self.items()),))


@dataclass(frozen=True)
class RawSpec:
    """The spec as plain data, with the source location of every mapping key and item."""

    file: str
    text: str
    data: Any
    locations: Mapping[Path, Location]

    def where(self, path: Path) -> Location:
        """The location of `path`, or of its nearest located ancestor."""
        while path not in self.locations and path:
            path = path[:-1]
        return self.locations.get(path, Location(self.file, 1, 1))


def load_raw(file: str | FsPath) -> RawSpec:
    """Parse `file`; raise SpecError (rule SPEC-io / SPEC-yaml) if it cannot be read."""
    name = str(file)
    try:
        text = FsPath(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([_io_problem(name, "spec file not found",
                                     "pass the path of the YAML spec with --spec")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([_io_problem(name, f"cannot read the spec: {exc}", "")]) from None
    return parse_text(text, name)


def _io_problem(name: str, message: str, hint: str) -> Problem:
    return Problem("SPEC-io", message, Location(name, 1, 1), hint=hint)


# Bounds on what a spec may make the loader do. A real spec is far inside all of them; a YAML
# bomb (aliases that expand exponentially, or nesting thousands deep) is refused with a rule ID.
MAX_BYTES = 32 * 1024 * 1024


def parse_text(text: str, name: str) -> RawSpec:
    if len(text) > MAX_BYTES:
        raise SpecError([Problem("SPEC-yaml-size", f"the spec is {len(text):,} characters, more "
                                 f"than the {MAX_BYTES:,} a spec may have", Location(name, 1, 1),
                                 hint="split the document, or check that this is a spec")])
    builder = Builder(name, NODES_PER_CHARACTER * len(text) + NODE_SLACK)
    try:
        data = builder.build(YAML_LOADER(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name, 1, 1)
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise SpecError([Problem("SPEC-yaml", f"invalid YAML: {msg}", loc,
                                 hint="fix the YAML syntax at this position")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem("SPEC-yaml", f"invalid YAML: {exc}", Location(name, 1, 1))]) from None
    if builder.problems:
        raise SpecError(builder.problems)
    if data is None:
        raise SpecError([Problem("SPEC-yaml", "the spec file is empty", Location(name, 1, 1),
                                 hint="see docs/your-own-c-abi.md for a minimal spec")])
    return RawSpec(name, text, data, Locations(name, builder.marks))
