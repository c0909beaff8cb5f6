"""Shared state of the importer's inference: the header set, the provenance of every guess,
the facts one part derives and another reads, and the helpers every part uses."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.headers import phrases as ph
from generator.headers.doctext import Text, parse
from generator.headers.ir import CFunction, HeaderSet
from generator.headers.problems import Where

Prov = dict[tuple[str | int, ...], list[str]]
_SCALARS = {"int", "unsigned int", "long", "unsigned long", "char", "unsigned char", "short", "float",
            "double", "bool", "_Bool", "size_t", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t",
            "uint16_t", "uint32_t", "uint64_t", "long long", "unsigned long long"}
_CREATE = re.compile(r"(?:create|init|open|new|alloc|load|start|make|begin|acquire)", re.I)
_DESTROY = re.compile(r"(?:destroy|free|close|release|unload|finali[sz]e|delete|dispose|end|unref)", re.I)
# The enumerator comment `ffispec generate` writes: KEY: message (HTTP n, retriable) (not an
# error) (since x.y.z), every part after the message optional.
_GENERATED_CODE = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*): (?P<msg>.*?)"
                             r"(?: \(HTTP (?P<http>\d+)(?P<retr>, retriable)?\))?"
                             r"(?P<result> \(not an error\))?(?: \(since (?P<since>[\d.]+)\))?$")
_ERR_NAME = re.compile(r"(?:^|_)(?:err|error|errcode|error_code|status|rc)$", re.I)


@dataclass
class ErrorTable:
    enum: str
    codes: list[tuple[str, int, Where, str]]      # (C name, value, where, note)
    source: str                                   # "enum" | "constants"
    where: Where
    doc: str = ""
    prefix: str = ""
    header: str | None = None                     # the codes exist in this header of the library

    def key(self, name: str) -> str:
        return name[len(self.prefix):] if self.prefix and name.startswith(self.prefix) else name

    @property
    def names(self) -> dict[str, str]:
        return {n: self.key(n) for n, _, _, _ in self.codes}


@dataclass
class Draft:
    data: dict[str, Any]
    prov: Prov
    summary: list[str] = field(default_factory=list)



class Base:

    # Facts the parts share; set by `_Inferrer.run` in this order.
    existing: bool
    table: ErrorTable | None
    err_param: tuple[str, Where, str] | None
    status: tuple[str, Where, str] | None
    code_keys: dict[str, str]
    stated_channels: dict[str, dict[str, Any]]   # function -> its `@par Error channel`
    stated_default: dict[str, Any]
    result_keys: set[str]               # codes that are results, not failures (SQLITE_ROW)
    handles: list[dict[str, Any]]
    handle_names: set[str]
    group_of: dict[str, str]
    version: str
    types: dict[str, dict[str, Any]]
    channel_none: set[str]
    exceptions: dict[str, dict[str, Any]]
    preconditions: set[tuple[str | int, ...]]   # parameters whose rules the header calls preconditions

    def __init__(self, hs: HeaderSet, prefix: str | None):
        # A function declared in several headers is imported once, as first declared; the audit
        # reports the others.
        # The documented declaration wins (a generated header redeclares the library's functions
        # with their docs); else the first.
        chosen: dict[str, CFunction] = {}
        for f in hs.functions:
            if f.name not in chosen or (chosen[f.name].doc is None and f.doc is not None):
                chosen[f.name] = f
        unique = [f for f in hs.functions if chosen[f.name] is f]
        if len(unique) != len(hs.functions):
            hs = replace(hs, functions=tuple(unique))
        self.hs = hs
        self.prov: Prov = {}
        self.summary: list[str] = []
        self.docs = {f.name: parse(f.doc) for f in hs.functions}
        self.prefix = prefix or self._prefix()
        self.global_nullable = self._global_nullable()

    def note(self, path: tuple[str | int, ...], where: Where | str, words: str = "") -> None:
        text = f"{where}" + (f": {words}" if words else "")
        self.prov.setdefault(path, []).append(text)

    # ------------------------------------------------------------------ run
    def _prefix(self) -> str:
        return guess_prefix([f.name for f in self.hs.functions])

    def _global_nullable(self) -> Text | None:
        for doc in self.hs.file_docs.values():
            m = ph.GLOBAL_NULLABLE.search(doc.text)
            if m:
                return Text(ph.quote(doc.text, m), Where(doc.file, doc.line_of(m.group(0).split()[0])))
        return None

    def _generated(self) -> bool:
        """The first header was written by `ffispec generate` (its banner says so)."""
        doc = self.hs.file_docs.get(self.hs.headers[0])
        try:
            head = Path(self.hs.headers[0]).read_text(encoding="utf-8", errors="replace")[:400]
        except OSError:
            head = doc.text if doc else ""
        return "Generated by ffispec" in head

    def _codes_named(self, f: CFunction, names: set[str]) -> list[str]:
        text = self.docs[f.name].all_text
        return [n for n in re.findall(r"\b[A-Z][A-Z0-9_]+\b", text) if n in names]

    @staticmethod
    def _thread_class(text: str) -> tuple[str, str] | None:
        return _thread_class(text)


def _common_prefix(names: list[str]) -> str:
    if not names:
        return ""
    common = names[0]
    for n in names[1:]:
        while not n.startswith(common):
            common = common[:-1]
    return common[:common.rindex("_") + 1] if "_" in common else ""


def guess_prefix(names: list[str]) -> str:
    """The prefix the function names share, cut at an underscore; else the most common first
    word (`sqlite3_`)."""
    if not names:
        return ""
    common = _common_prefix(names)
    if common:
        return common
    firsts = Counter(n.split("_")[0] + "_" for n in names if "_" in n)
    return firsts.most_common(1)[0][0].lower() if firsts else ""


@lru_cache(maxsize=4096)
def _thread_class(text: str) -> tuple[str, str] | None:
    """The thread-safety class a text states, and the words."""
    m = re.search(r"Thread safety: (safe|externally synchronized)\.", text)
    if m:
        return m.group(1).replace(" ", "_"), ph.quote(text, m)
    m = ph.THREAD_UNSAFE.search(text) or ph.EXTERNALLY_SYNCHRONIZED.search(text)
    if m:
        return "externally_synchronized", ph.quote(text, m)
    m = ph.THREAD_SAFE.search(text)
    if m:
        return "safe", ph.quote(text, m)
    return None


def _slug(title: str) -> str:
    """A group name from a section title: `Context management` -> `context_management`."""
    name = re.sub(r"\W+", "_", title.strip().lower()).strip("_")
    return name if re.match(r"^[a-z_]", name) else f"g_{name}"


def _c_spelling(text: str) -> str:
    """`const char *` -> `const char*`: the spec's spelling of a C type."""
    return re.sub(r"\s*\*", "*", " ".join(text.split())).strip()


def _split_params(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return [*out, cur] if cur.strip() else out


def _callback_signature(target: str) -> tuple[str, tuple[str, ...]] | None:
    m = re.fullmatch(r"(.*?)\s*\(\*\)\s*\((.*)\)", target)
    if m is None:
        return None
    params = [_c_spelling(x) for x in _split_params(m.group(2))]
    return _c_spelling(m.group(1)), tuple([] if params == ["void"] else params)
