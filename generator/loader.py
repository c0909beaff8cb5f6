"""Read a spec file into plain data plus the line and column of every node, then validate it
against spec/schema.json. Every problem is collected; nothing is reported as a traceback."""

from __future__ import annotations

import contextvars
import difflib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

import jsonschema
import yaml

from generator.problems import Location, Path, Problem, SpecError

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


@dataclass(frozen=True)
class RawSpec:
    """The spec as plain data, with the source location of every mapping key and item."""

    file: str
    text: str
    data: Any
    locations: dict[Path, Location]

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


def parse_text(text: str, name: str) -> RawSpec:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name, 1, 1)
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise SpecError([Problem("SPEC-yaml", f"invalid YAML: {msg}", loc,
                                 hint="fix the YAML syntax at this position")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem("SPEC-yaml", f"invalid YAML: {exc}", Location(name, 1, 1))]) from None
    if node is None:
        raise SpecError([Problem("SPEC-yaml", "the spec file is empty", Location(name, 1, 1),
                                 hint="see docs/your-own-c-abi.md for a minimal spec")])
    locations: dict[Path, Location] = {}
    problems: list[Problem] = []
    data = _convert(node, (), name, locations, problems)
    if problems:
        raise SpecError(problems)
    return RawSpec(name, text, data, locations)


def _io_problem(name: str, message: str, hint: str) -> Problem:
    return Problem("SPEC-io", message, Location(name, 1, 1), hint=hint)


def _convert(node: yaml.Node, path: Path, name: str, locations: dict[Path, Location],
             problems: list[Problem]) -> Any:
    locations[path] = Location(name, node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            key_path = (*path, key)
            if key in out:
                problems.append(Problem(
                    "SPEC-duplicate-key", f"key {key!r} appears twice in the same mapping",
                    Location(name, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                    key_path, "remove or rename one of them"))
            out[key] = _convert(value_node, key_path, name, locations, problems)
            # A key's own position is more useful than its value's for "unknown key" reports.
            locations[(*key_path, "<key>")] = Location(
                name, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), name, locations, problems)
                for i, item in enumerate(node.value)]
    return _scalar(node)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    """Resolve a scalar the way YAML 1.1 safe loading does, except dates stay strings."""
    tag = node.tag
    if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"):
        return node.value
    construct = _CONSTRUCTOR.yaml_constructors.get(tag)
    if construct is None:
        return node.value
    return construct(_CONSTRUCTOR, node)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("generator").joinpath("schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def validate_schema(raw: RawSpec) -> list[Problem]:
    """Validate against the JSON Schema; one problem per violation, with a fix hint."""
    validator = jsonschema.Draft202012Validator(schema())
    problems = []
    for err in validator.iter_errors(raw.data):
        path: Path = tuple(err.absolute_path)
        problems.extend(_schema_problems(raw, err, path))
    return problems


def _schema_problems(raw: RawSpec, err: jsonschema.ValidationError, path: Path) -> list[Problem]:
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        schema_node = err.schema if isinstance(err.schema, dict) else {}
        allowed = sorted(schema_node.get("properties", {}))
        out = []
        for key in err.instance:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
            loc = raw.locations.get((*path, key, "<key>"), raw.where(path))
            out.append(Problem("SPEC-unknown-key", f"unknown key {key!r}", loc, (*path, key), hint))
        return out
    if err.validator == "required":
        return [Problem("SPEC-missing-key", err.message, raw.where(path), path,
                        "add the missing key")]
    if err.validator == "enum":
        options = list(err.validator_value) if isinstance(err.validator_value, list) else []
        choices = ", ".join(repr(c) for c in options)
        close = difflib.get_close_matches(str(err.instance), [str(c) for c in options], n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {choices}"
        return [Problem("SPEC-invalid-value", f"{err.instance!r} is not one of {choices}",
                        raw.where(path), path, hint)]
    if err.validator == "type":
        return [Problem("SPEC-wrong-type", f"expected {err.validator_value}, got "
                        f"{type(err.instance).__name__} {err.instance!r}", raw.where(path), path,
                        f"write a {err.validator_value} here")]
    if err.validator == "pattern":
        return [Problem("SPEC-invalid-value", f"{err.instance!r} does not match the required form "
                        f"{err.validator_value!r}", raw.where(path), path,
                        "see spec/schema.json for the accepted form")]
    return [Problem("SPEC-schema", err.message, raw.where(path), path,
                    "see spec/schema.json for this field")]
