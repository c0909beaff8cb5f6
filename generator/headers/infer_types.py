"""Types a generated header describes in a comment because the library's own header declares
them (`A callback type declared by <kv.h> as `typedef void (*kv_free_fn)(void*);``)."""

from __future__ import annotations

import re
from typing import Any

from generator.headers.infer_base import Base, _c_spelling, _split_params

_DECLARED_TYPE = re.compile(r"An? (?P<kind>callback|enum|struct|alias) type declared by <(?P<header>[^>]+)> as "
                            r"`(?P<decl>[^`]+)`\.")
_CONSTANT = re.compile(r"Constant (?P<name>[A-Za-z_]\w*) = (?P<value>-?\d+): "
                       r"(?P<doc>.*?)(?= Constant [A-Za-z_]\w* = |$)")


class TypesPart(Base):
    def _stated_types(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for c in self.hs.comments:
            text = " ".join(c.text.split())
            m = _DECLARED_TYPE.search(text)
            if not m:
                continue
            entry = self._declared_type(m["kind"], m["decl"])
            if entry is None:
                continue
            brief = re.match(r"@brief (.*?) An? (?:callback|enum|struct|alias) type declared by", text)
            entry["doc"] = brief.group(1) if brief else entry["name"]
            entry["header"] = m["header"]
            constants = [{"value": int(k["value"]), "name": k["name"], "doc": k["doc"]}
                         for k in _CONSTANT.finditer(text[m.end():])]
            if constants:
                entry["constants"] = constants
            self.note(("types", len(out)), c.where, f"declared by <{m['header']}>")
            out[entry["name"]] = entry
        return out

    @staticmethod
    def _declared_type(kind: str, decl: str) -> dict[str, Any] | None:
        if kind == "callback":
            m = re.fullmatch(r"typedef (.*?)\s*\(\*(\w+)\)\((.*)\);", decl)
            if not m:
                return None
            params = [_c_spelling(p) for p in _split_params(m.group(3))]
            return {"name": m.group(2), "kind": "callback", "returns": _c_spelling(m.group(1)),
                    "params": [] if params == ["void"] else params}
        if kind == "alias":
            m = re.fullmatch(r"typedef (.+?)\s*\b(\w+);", decl)
            return None if not m else {"name": m.group(2), "kind": "alias",
                                       "type": _c_spelling(m.group(1))}
        m = re.fullmatch(r"typedef (?:struct|enum) (\w+)\s*(?:\{(.*)\})?\s*(\w+);", decl)
        if not m:
            return None
        entry: dict[str, Any] = {"name": m.group(3), "kind": kind}
        if m.group(1) != m.group(3):
            entry["struct_tag"] = m.group(1)
        if kind == "enum" and m.group(2):
            entry["values"] = [{"value": int(v), "name": n, "doc": n}
                               for n, v in re.findall(r"(\w+) = (-?\d+)", m.group(2))]
        return entry
