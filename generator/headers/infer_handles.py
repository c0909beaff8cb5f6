"""Handles: opaque struct typedefs with a creating and a destroying function."""

from __future__ import annotations

import re
from typing import Any

from generator.headers.doctext import parse
from generator.headers.infer_base import (
    _CREATE,
    _DESTROY,
    Base,
)
from generator.headers.ir import COpaque


class HandlesPart(Base):
    def _handles(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._declared_handles()
        stated = {h["name"] for h in out}
        for o in self.hs.opaques:
            if o.name in stated:
                continue
            h = self._handle(o, len(out))
            if h is not None:
                out.append(h)
        return out

    def _handle(self, o: COpaque, index: int) -> dict[str, Any] | None:
        ptr = f"{o.name}*"
        creators = [f for f in self.hs.functions if f.returns == ptr or
                    any(p.ctype == f"{o.name}**" for p in f.params)]
        destroyers = [f for f in self.hs.functions if f.params and f.params[0].ctype == ptr and
                      _DESTROY.search(f.name.removeprefix(self.prefix)) and f.returns in ("void", "int")]
        if not creators or not destroyers:
            self.summary.append(f"opaque type {o.name} ({o.where}) has no create/destroy pair: not a handle")
            return None
        creator = sorted(creators, key=lambda f: (not _CREATE.search(f.name), f.where))[0]
        destroyer = sorted(destroyers, key=lambda f: (f.returns != "void", f.where))[0]
        path: tuple[str | int, ...] = ("handles", index)
        h: dict[str, Any] = {"name": o.name}
        facts = parse(o.doc)
        doc_text = facts.brief.text if facts.brief else ""
        if doc_text:
            h["doc"] = doc_text
        parent = re.search(r"Owned by its parent (\w+)", o.doc.text) if o.doc else None
        if parent:
            h["parent"] = parent.group(1)
        else:
            cands = [p.ctype[:-1] for p in creator.params
                     if p.ctype.endswith("*") and p.ctype[:-1] in {x.name for x in self.hs.opaques}
                     and p.ctype[:-1] != o.name]
            if cands:
                h["parent"] = cands[0]
                self.note((*path, "parent"), creator.where, f"{creator.name} takes a {cands[0]}")
        h["created_by"] = creator.name
        self.note((*path, "created_by"), creator.where, f"returns {creator.returns}" if creator.returns == ptr
                  else f"writes a {o.name}** out-parameter")
        h["destroyed_by"] = destroyer.name
        self.note((*path, "destroyed_by"), destroyer.where, f"takes the {o.name}* and its name says so")
        ts = self._thread_class(o.doc.text if o.doc else "")
        if ts:
            h["thread_safety"] = ts[0]
            self.note((*path, "thread_safety"), o.doc.where if o.doc else o.where, ts[1])
        else:
            h["thread_safety"] = "externally_synchronized"
            self.note((*path, "thread_safety"), o.where, "not stated; externally_synchronized assumed — confirm")
        return h


    # --------------------------------------------------------------- groups

    def _declared_handles(self) -> list[dict[str, Any]]:
        """Handles a generated header describes in a comment because the library's own header
        declares them (`Declared by <sqlite3.h> as ...`)."""
        out: list[dict[str, Any]] = []
        for c in self.hs.comments:
            text = " ".join(c.text.split())
            m = _DECLARED_HANDLE.search(text)
            if not m:
                continue
            h: dict[str, Any] = {"name": m["name"]}
            brief = re.match(r"@brief (.*?) Opaque\.", text)
            if brief:
                h["doc"] = brief.group(1)
            if m["parent"]:
                h["parent"] = m["parent"]
            h.update(created_by=m["created"], destroyed_by=m["destroyed"],
                     thread_safety=m["ts"].replace(" ", "_"), header=m["header"])
            if m["tag"] != m["name"]:
                h["struct_tag"] = m["tag"]
            self.note(("handles", len(out)), c.where, f"declared by <{m['header']}>")
            out.append(h)
        return out


_DECLARED_HANDLE = re.compile(
    r"Opaque\. Created by (?P<created>\w+)\(\), destroyed by (?P<destroyed>\w+)\(\)\."
    r"(?: Owned by its parent (?P<parent>\w+): destroying the parent destroys it\.)?"
    r" Thread safety: (?P<ts>safe|externally synchronized)\."
    r" Declared by <(?P<header>[^>]+)> as `typedef struct (?P<tag>\w+) (?P<name>\w+);`\.")
