"""Plain data and source positions from the YAML event stream, within bounds: no recursive
composer, so neither deep nesting nor an alias bomb can exhaust the stack, the memory or the
time; every string is checked for characters no generated file should carry."""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from generator.problems import Location, Path, Problem

YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Bounds on what a spec may make the loader do (source.MAX_BYTES bounds its size). A real spec
# is far inside them; nesting thousands deep or an alias bomb is refused with a rule ID.
MAX_DEPTH = 64
MAX_ALIASES = 10_000          # alias uses in the whole document

# Expanded nodes: a node takes at least two characters to write, so a document of n characters
# has at most n/2 of them; aliases may multiply that by 4 (plus a little), no more.
NODES_PER_CHARACTER = 2
NODE_SLACK = 10_000

_KEY = "<key>"  # path suffix of a mapping key's own position


class _Stop(Exception):
    """A bound was hit; the problem is recorded and the rest of the document is not read."""


class Builder:
    """Plain data straight from the YAML event stream, without a recursive composer: nesting
    is bounded (an explicit stack, MAX_DEPTH), aliases are expanded by copying the anchored
    value but never recursively and only within a node budget, so neither deep nesting nor an
    alias bomb can exhaust the stack, the memory or the time.

    `marks` holds the parser's start mark of every node (and of every mapping key, under the
    key's path plus "<key>"), as the parser made them: most are never looked at, so turning
    them into Locations is left to whoever asks (loader.source.Locations)."""

    def __init__(self, name: str, budget: int):
        self.name = name
        self.budget = budget
        self.nodes = 0
        self.aliases = 0
        self.marks: dict[Path, Any] = {}
        self.problems: list[Problem] = []
        self.anchors: dict[str, Any] = {}
        self.open_anchors: set[str] = set()
        self._plain: dict[str, Any] = {}  # plain scalar text -> its value (resolved once)

    def _loc(self, event: Any) -> Location:
        return Location(self.name, event.start_mark.line + 1, event.start_mark.column + 1)

    def _stop(self, problem: Problem) -> _Stop:
        self.problems.append(problem)
        return _Stop()

    def _over_budget(self, event: Any, path: Path) -> _Stop:
        return self._stop(Problem(
            "SPEC-yaml-alias", f"aliases expand this document beyond {self.budget:,} nodes "
            "(an alias bomb?)", self._loc(event), path,
            "write the data out instead of aliasing aliases"))

    def build(self, parser: Any) -> Any:
        """The document `parser` (a YAML loader over the text) reads; None when a bound
        stopped the reading (the problem is in `problems`)."""
        try:
            return self._build(parser.get_event)
        except _Stop:
            return None
        finally:
            parser.dispose()

    def _build(self, next_event: Any) -> Any:
        # One frame per open mapping or sequence: [container, path, pending key (mappings),
        # anchor, is a mapping]. The loop runs once per event of the document (a large spec
        # has over a hundred thousand), so it tests the event's class by identity, scalars
        # first, and takes the common scalars (plain ones seen before, quoted text) inline.
        stack: list[list[Any]] = []
        frame: list[Any] | None
        marks = self.marks
        plain = self._plain
        anchors = self.anchors
        budget = self.budget
        nodes = self.nodes
        root: Any = None
        documents = 0
        while (event := next_event()) is not None:
            kind = event.__class__
            if kind is not _SCALAR:
                if kind is _END_MAPPING or kind is _END_SEQUENCE:
                    frame = stack.pop()
                    if frame[3] is not None:
                        anchors[frame[3]] = frame[0]
                        self.open_anchors.discard(frame[3])
                    continue
                if kind is _DOCUMENT:
                    documents += 1
                    if documents > 1:
                        raise self._stop(Problem("SPEC-yaml", "the file holds more than one "
                                                 "YAML document", self._loc(event), (),
                                                 "remove the `---` that starts a second document"))
                    continue
                if kind in _FRAMING:
                    continue
            # A node: where does it go?
            if stack:
                frame = stack[-1]
                if frame[4]:
                    key = frame[2]
                    if key is None:  # it is a key
                        if kind is not _SCALAR:
                            raise self._stop(Problem("SPEC-yaml", "a mapping key must be a "
                                                     "plain string, not a list, mapping or "
                                                     "alias", self._loc(event), frame[1],
                                                     "write the key as a plain word"))
                        key = event.value
                        if key in frame[0]:
                            self.problems.append(Problem(
                                "SPEC-duplicate-key", f"key {key!r} appears twice in the same "
                                "mapping", self._loc(event), (*frame[1], key),
                                "remove or rename one of them"))
                        frame[2] = key
                        # A key's own position serves "unknown key" reports better than its value's.
                        marks[(*frame[1], key, _KEY)] = event.start_mark
                        continue
                    path: Path = (*frame[1], key)
                else:
                    path = (*frame[1], len(frame[0]))
            else:
                frame = None
                path = ()
            nodes += 1
            if nodes > budget:
                raise self._over_budget(event, path)
            marks[path] = event.start_mark
            if kind is _SCALAR:
                value = _UNSEEN
                if event.tag is None:
                    text = event.value
                    if event.implicit[0]:
                        value = plain.get(text, _UNSEEN)
                    elif _UNWRITABLE.search(text) is None:
                        value = text  # quoted: the text as written
                if value is _UNSEEN:
                    value = self._scalar(event, path)
                if event.anchor is not None:
                    anchors[event.anchor] = value
            elif kind is _START_MAPPING or kind is _START_SEQUENCE:
                if len(stack) >= MAX_DEPTH:
                    raise self._stop(_too_deep(self._loc(event)))
                mapping = kind is _START_MAPPING
                value = {} if mapping else []
                if event.anchor is not None:
                    self.open_anchors.add(event.anchor)
                stack.append([value, path, None, event.anchor, mapping])
            else:  # an alias
                self.nodes = nodes
                value = self._alias(event, path)
                nodes = self.nodes
            if frame is None:
                root = value
            elif frame[4]:
                frame[0][frame[2]] = value
                frame[2] = None
            else:
                frame[0].append(value)
        self.nodes = nodes
        return root

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
        mark = event.start_mark
        while work:
            src, dst, where = work.pop()
            self.nodes += len(src)
            if self.nodes > self.budget:
                raise self._over_budget(event, where)
            items = src.items() if isinstance(src, dict) else enumerate(src)
            for k, v in items:
                child = (*where, k)
                self.marks[child] = mark
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
        tag = event.tag
        if tag is None and event.implicit[0]:
            # A plain scalar's value depends on its text alone, and the same texts recur
            # (`in`, `borrowed`, `true`): each is resolved once, unless that found a problem
            # (which is then reported at every occurrence).
            text = event.value
            value = self._plain.get(text, _UNSEEN)
            if value is _UNSEEN:
                found = len(self.problems)
                value = self._converted(event, path)
                if len(self.problems) == found:
                    self._plain[text] = value
            return value
        if tag is None:  # quoted: the text as written
            return self._writable(event.value, event, path)
        return self._converted(event, path)

    def _converted(self, event: Any, path: Path) -> Any:
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
            return self._writable(value, event, path)
        if not isinstance(value, (int, float, bool)) and value is not None:
            return str(event.value)  # !!binary and other tags: the text as written
        return value

    def _writable(self, text: str, event: Any, path: Path) -> str | None:
        bad = _UNWRITABLE.search(text)
        if bad is None:
            return text
        self.problems.append(Problem(
            "SPEC-control-character", f"the text holds the control character "
            f"U+{ord(bad.group()):04X}, which no generated file should carry",
            self._loc(event), path, "remove it; write a newline or a tab if one is meant"))
        return None


_UNSEEN = object()
_SCALAR = yaml.ScalarEvent
_START_MAPPING, _END_MAPPING = yaml.MappingStartEvent, yaml.MappingEndEvent
_START_SEQUENCE, _END_SEQUENCE = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_DOCUMENT = yaml.DocumentStartEvent
_FRAMING = (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)


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
