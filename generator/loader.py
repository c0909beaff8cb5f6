"""Read a spec file into plain data plus the line and column of every node, then validate it
against spec/schema.json. Every problem is collected; nothing is reported as a traceback."""

from __future__ import annotations

import contextvars
import copy
import difflib
import hashlib
import json
import marshal
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

import yaml

from generator.problems import Location, Path, Problem, SpecError

if TYPE_CHECKING:
    import jsonschema

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


def _io_problem(name: str, message: str, hint: str) -> Problem:
    return Problem("SPEC-io", message, Location(name, 1, 1), hint=hint)


# Bounds on what a spec may make the loader do. A real spec is far inside all of them; a YAML
# bomb (aliases that expand exponentially, or nesting thousands deep) is refused with a rule ID.
MAX_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 10_000          # alias uses in the whole document
# Expanded nodes: a node takes at least two characters to write, so a document of n characters
# has at most n/2 of them; aliases may multiply that by 4 (plus a little), no more.
NODES_PER_CHARACTER = 2
_NODE_SLACK = 10_000


def parse_text(text: str, name: str) -> RawSpec:
    if len(text) > MAX_BYTES:
        raise SpecError([Problem("SPEC-yaml-size", f"the spec is {len(text):,} characters, more "
                                 f"than the {MAX_BYTES:,} a spec may have", Location(name, 1, 1),
                                 hint="split the document, or check that this is a spec")])
    builder = _Builder(name, NODES_PER_CHARACTER * len(text) + _NODE_SLACK)
    try:
        data = builder.build(yaml.parse(text, Loader=_Loader))
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
    return RawSpec(name, text, data, builder.locations)


class _Stop(Exception):
    """A bound was hit; the problem is recorded and the rest of the document is not read."""


class _Builder:
    """Plain data straight from the YAML event stream, without a recursive composer: nesting
    is bounded (an explicit stack, MAX_DEPTH), aliases are expanded by copying the anchored
    value but never recursively and only within a node budget, so neither deep nesting nor an
    alias bomb can exhaust the stack, the memory or the time."""

    def __init__(self, name: str, budget: int):
        self.name = name
        self.budget = budget
        self.nodes = 0
        self.aliases = 0
        self.locations: dict[Path, Location] = {}
        self.problems: list[Problem] = []
        self.anchors: dict[str, Any] = {}
        self.open_anchors: set[str] = set()

    def _loc(self, event: Any) -> Location:
        return Location(self.name, event.start_mark.line + 1, event.start_mark.column + 1)

    def _stop(self, problem: Problem) -> _Stop:
        self.problems.append(problem)
        return _Stop()

    def _count(self, n: int, event: Any, path: Path) -> None:
        self.nodes += n
        if self.nodes > self.budget:
            raise self._stop(Problem(
                "SPEC-yaml-alias", f"aliases expand this document beyond {self.budget:,} nodes "
                "(an alias bomb?)", self._loc(event), path,
                "write the data out instead of aliasing aliases"))

    def build(self, events: Any) -> Any:
        try:
            return self._build(events)
        except _Stop:
            return None

    def _build(self, events: Any) -> Any:
        # Each frame: [container, path, pending key (mappings), anchor, key location]
        stack: list[list[Any]] = []
        root: Any = None
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise self._stop(Problem("SPEC-yaml", "the file holds more than one YAML "
                                             "document", self._loc(event), (),
                                             "remove the `---` that starts a second document"))
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent,
                                  yaml.DocumentEndEvent)):
                continue
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                if frame[3] is not None:
                    self.anchors[frame[3]] = frame[0]
                    self.open_anchors.discard(frame[3])
                continue
            # A node: where does it go?
            if stack and isinstance(stack[-1][0], dict) and stack[-1][2] is None:
                # It is a key.
                frame = stack[-1]
                if not isinstance(event, yaml.ScalarEvent):
                    raise self._stop(Problem("SPEC-yaml", "a mapping key must be a plain "
                                             "string, not a list, mapping or alias",
                                             self._loc(event), frame[1],
                                             "write the key as a plain word"))
                key = str(event.value)
                key_path = (*frame[1], key)
                if key in frame[0]:
                    self.problems.append(Problem(
                        "SPEC-duplicate-key", f"key {key!r} appears twice in the same mapping",
                        self._loc(event), key_path, "remove or rename one of them"))
                frame[2] = key
                # A key's own position is more useful than its value's for "unknown key" reports.
                self.locations[(*key_path, "<key>")] = self._loc(event)
                continue
            if stack:
                parent = stack[-1]
                if isinstance(parent[0], dict):
                    path: Path = (*parent[1], parent[2])
                else:
                    path = (*parent[1], len(parent[0]))
            else:
                path = ()
            self._count(1, event, path)
            self.locations[path] = self._loc(event)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise self._stop(_too_deep(self._loc(event)))
                value: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                anchor = event.anchor
                if anchor is not None:
                    self.open_anchors.add(anchor)
                self._place(stack, value, root_holder := [root])
                root = root_holder[0]
                stack.append([value, path, None, anchor])
                continue
            if isinstance(event, yaml.AliasEvent):
                value = self._alias(event, path)
            else:
                value = self._scalar(event, path)
                if event.anchor is not None:
                    self.anchors[event.anchor] = value
            root_holder = [root]
            self._place(stack, value, root_holder)
            root = root_holder[0]
        return root

    @staticmethod
    def _place(stack: list[list[Any]], value: Any, root_holder: list[Any]) -> None:
        if not stack:
            root_holder[0] = value
            return
        frame = stack[-1]
        if isinstance(frame[0], dict):
            frame[0][frame[2]] = value
            frame[2] = None
        else:
            frame[0].append(value)

    def _alias(self, event: Any, path: Path) -> Any:
        anchor = event.anchor
        if anchor in self.open_anchors:
            raise self._stop(Problem("SPEC-yaml-alias", f"alias *{anchor} refers to a node that "
                                     "contains it (a recursive structure)", self._loc(event),
                                     path, "replace the alias with the data it should stand for"))
        if anchor not in self.anchors:
            raise self._stop(Problem("SPEC-yaml", f"alias *{anchor} names no anchor",
                                     self._loc(event), path, f"define &{anchor} before using it"))
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise self._stop(Problem("SPEC-yaml-alias", f"more than {MAX_ALIASES:,} alias uses",
                                     self._loc(event), path,
                                     "write the data out instead of aliasing"))
        return self._copy(self.anchors[anchor], event, path)

    def _copy(self, value: Any, event: Any, path: Path) -> Any:
        """A copy of an anchored value, counted against the budget node by node; its nodes
        are located at the alias."""
        if not isinstance(value, (dict, list)):
            return value
        out: Any = {} if isinstance(value, dict) else []
        work = [(value, out, path)]
        while work:
            src, dst, where = work.pop()
            self._count(len(src), event, where)
            items = src.items() if isinstance(src, dict) else enumerate(src)
            for k, v in items:
                child = (*where, k)
                self.locations[child] = self._loc(event)
                if isinstance(v, (dict, list)):
                    copy_v: Any = {} if isinstance(v, dict) else []
                    work.append((v, copy_v, child))
                else:
                    copy_v = v
                if isinstance(dst, dict):
                    dst[k] = copy_v
                else:
                    dst.append(copy_v)
        return out

    def _scalar(self, event: Any, path: Path) -> Any:
        try:
            value = _scalar(event)
        except (ValueError, TypeError, yaml.YAMLError) as exc:
            self.problems.append(Problem("SPEC-invalid-value", f"cannot read this value: {exc}",
                                         self._loc(event), path, "write a plain number or string"))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append(Problem("SPEC-invalid-value", f"{event.value!r} is not a finite "
                                         "number", self._loc(event), path,
                                         "write a finite number, or leave the bound out"))
            return None
        if isinstance(value, str):
            bad = _UNWRITABLE.search(value)
            if bad is not None:
                self.problems.append(Problem(
                    "SPEC-control-character", f"the text holds the control character "
                    f"U+{ord(bad.group()):04X}, which no generated file should carry",
                    self._loc(event), path, "remove it; write a newline or a tab if one is meant"))
                return None
        elif not isinstance(value, (int, float, bool)) and value is not None:
            return str(event.value)  # !!binary and other tags: the text as written
        return value


def _too_deep(loc: Location) -> Problem:
    return Problem("SPEC-yaml-depth", f"the document nests deeper than {MAX_DEPTH} levels",
                   loc, hint="a spec is a few levels deep; flatten this structure")


# C0 controls other than tab, newline and carriage return, DEL, and lone surrogates (which
# cannot be written as UTF-8): refused in every string of a spec.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"


def _scalar(event: Any) -> Any:
    """Resolve a scalar the way YAML 1.1 safe loading does, except dates stay strings."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag in (_STR, "tag:yaml.org,2002:timestamp"):
        return event.value
    construct = _CONSTRUCTOR.yaml_constructors.get(tag)
    if construct is None:
        return event.value
    return construct(_CONSTRUCTOR, yaml.ScalarNode(tag, event.value, event.start_mark,
                                                  event.end_mark, event.style))


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("generator").joinpath("schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def _strict(node: Any) -> Any:
    """The schema for Python's `re`: a pattern's final `$` becomes `\\Z`, because Python's `$`
    also matches before a trailing newline ("name\\n" would pass `^[a-z]+$`); the published
    schema keeps `$`, which means end of text in the ECMA-262 dialect editors use."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
            out["pattern"] = pattern[:-1] + "\\Z"
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft202012Validator:
    """One validator for the process (building it compiles the schema). jsonschema is
    imported only here, for a spec the fast validator refused: importing it takes longer
    than validating a valid spec."""
    import jsonschema

    return jsonschema.Draft202012Validator(_strict(copy.deepcopy(schema())))


def _draft7(node: Any) -> Any:
    """The schema as fastjsonschema reads it (draft 7): `$ref` ignores sibling keywords there,
    so a `$ref` with siblings becomes `allOf: [{$ref}]` plus the siblings."""
    if isinstance(node, dict):
        out = {k: _draft7(v) for k, v in node.items() if k != "$schema"}
        if "$ref" in out and set(out) - {"$ref", "description", "default"}:
            out["allOf"] = [{"$ref": out.pop("$ref")}]
        return out
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    return node


@lru_cache(maxsize=1)
def fast_validator() -> Callable[[Any], Any] | None:
    """A compiled validator (fastjsonschema) that answers "valid?" 15-40x faster than
    jsonschema; its code is cached per user, keyed by the schema and the library version.
    jsonschema still reports the problems of an invalid spec, with every violation."""
    try:
        import fastjsonschema  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    definition = _draft7(_strict(copy.deepcopy(schema())))
    key = hashlib.sha256(json.dumps([definition, fastjsonschema.VERSION, sys.version],
                                    sort_keys=True).encode()).hexdigest()[:24]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    cached = FsPath(base) / "ffispec" / f"schema-{key}.marshal"
    try:
        code = marshal.loads(cached.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        source = fastjsonschema.compile_to_code(definition, use_default=False)
        code = compile(source, "<ffispec schema validator>", "exec")
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(code))
            os.replace(tmp, cached)
        except OSError:
            pass  # read-only home: compile every time
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - code generated from our own schema
    entry = namespace.get("validate")
    if entry is None:
        names = sorted((k for k in namespace if k.startswith("validate_")), key=len)
        entry = namespace[names[0]] if names else None
    return entry if callable(entry) else None


def validate_schema(raw: RawSpec) -> list[Problem]:
    """Validate against the JSON Schema; one problem per violation, with a fix hint."""
    fast = fast_validator()
    if fast is not None:
        try:
            fast(raw.data)
            return []
        except Exception:  # noqa: BLE001 - invalid (or not understood): jsonschema says why
            pass
    problems = []
    for err in validator().iter_errors(raw.data):
        path: Path = tuple(err.absolute_path)
        problems.extend(_schema_problems(raw, err, path))
    return problems


_OUTPUT_PATH = _strict(schema())["$defs"]["output_path"]["pattern"]


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
    if err.validator == "pattern" and err.validator_value == _OUTPUT_PATH:
        return [Problem("SPEC-output-path", f"{err.instance!r} is not a path inside the project: "
                        "an output path is relative to --root and stays inside it", raw.where(path),
                        path, "write a relative path of plain names (letters, digits, _ . + -) "
                        "joined by /, without .. or a leading /")]
    if err.validator == "pattern":
        return [Problem("SPEC-invalid-value", f"{err.instance!r} does not match the required form "
                        f"{err.validator_value!r}", raw.where(path), path,
                        "see spec/schema.json for the accepted form")]
    return [Problem("SPEC-schema", err.message, raw.where(path), path,
                    "see spec/schema.json for this field")]
