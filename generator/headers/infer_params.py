"""Parameters of an inferred function: direction, nullability, ownership, ranges, allowed
values, buffers and callbacks, each guess with the words it came from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator.headers import phrases as ph
from generator.headers.doctext import DocFacts
from generator.headers.infer_base import (
    _SCALARS,
    Base,
    _c_spelling,
    _callback_signature,
    _split_params,
)
from generator.headers.ir import CFunction, CParam
from generator.headers.problems import Where


class ParamsPart(Base):
    def _param(self, f: CFunction, facts: DocFacts, i: int, p: CParam, path: tuple[str | int, ...]) -> dict[str, Any]:
        doc = facts.params.get(p.name)
        name = p.name or f"arg{i}"
        if not p.name:
            self.note((*path, "name"), p.where, "unnamed in the prototype; name invented — rename")
        out: dict[str, Any] = {"name": name, "type": p.ctype}
        if p.callback:
            out["type"] = self._callback_type(f, name, p, path)
        pointer = p.ctype.endswith("*") or p.callback
        is_err = self.err_param is not None and p.name == self.err_param[0] and p.ctype.endswith("*")
        clauses = ph.param_clauses(doc.text) if doc else ph.ParamClauses("", [], None, None)
        structured = {k: v for r in clauses.rules if (x := ph.parse_rule(r)) for k, v in [x]}
        # direction
        size = self._buffer_size(f, i, p)
        if doc and doc.direction:
            out["direction"] = doc.direction
        elif size is not None:
            out["direction"] = "out"
            self.note((*path, "direction"), p.where, f"a `char*` followed by its size `{size}`: an out-buffer "
                      "— confirm")
        else:
            direction, why = self._direction(p, is_err)
            out["direction"] = direction
            self.note((*path, "direction"), p.where, why)
        # nullability
        if pointer:
            self._nullable(out, structured, doc, p, path)
        if clauses.ownership and pointer and not is_err:
            out["ownership"] = clauses.ownership
        elif pointer and not is_err:
            own = self._param_ownership(f, i, p, doc)
            if own:
                out["ownership"] = own[0]
                self.note((*path, "ownership"), own[1], own[2])
        for key in ("range", "on_violation", "len"):
            if key in structured:
                out[key] = structured[key]
        if "len" not in out and size is not None and not clauses.rules:
            out["len"] = size
            self.note((*path, "len"), p.where, f"the next parameter, `{size}`, is named as its size")
            size_doc = facts.params.get(size)
            for t in [x for x in (doc, size_doc) if x is not None]:
                m = re.search(r"\b(\d+) bytes? (?:are |is )?(?:recommended|always suffices?|suffices?|is enough)",
                              t.text)
                if m:
                    out["capacity"] = int(m.group(1))
                    self.note((*path, "capacity"), t.where, ph.quote(t.text, m))
                    break
        if "range" not in out and doc and not pointer:
            m = ph.RANGE.search(doc.text)
            if m:
                lo, hi = ph.number(m.group(1)), ph.number(m.group(2))
                if isinstance(lo, float) or isinstance(hi, float) or p.ctype in ("float", "double"):
                    lo, hi = float(lo), float(hi)
                out["range"] = {"min": lo, "max": hi}
                self.note((*path, "range"), doc.where, f"range stated in prose: {ph.quote(doc.text, m)}")
        if "allowed" in structured:
            out["allowed"] = [self._allowed(f, p, v, n) for v, n in structured["allowed"]]
        string = {k: structured[k] for k in ("utf8", "min_bytes") if k in structured}
        if string:
            out["string"] = string
        if clauses.written:
            out["written"] = clauses.written
        elif out["direction"] != "in":
            if is_err:
                out["written"] = "always"
                self.note((*path, "written"), p.where, "the error channel is assumed written on every call — confirm")
            else:
                self.note((*path,), p.where, "an out-parameter: when it is written (`written`) is not stated — decide")
        out.update(clauses.extra)
        if structured.get("precondition"):
            self.preconditions.add(path)
        text = clauses.doc if doc else p.note
        if text:
            out["doc"] = text
        return out

    def _callback_type(self, f: CFunction, name: str, p: CParam, path: tuple[str | int, ...]) -> str:
        """A function-pointer parameter names a `types:` entry of kind callback: the header's own
        typedef of the same signature, else one named after the function and parameter."""
        m = re.fullmatch(r"(.*?)\s*\(\*\)\s*\((.*)\)", p.ctype)
        if m is None:
            self.note((*path, "type"), p.where, "a pointer to a function this importer cannot split — write it")
            return p.ctype
        returns, params = _c_spelling(m.group(1)), [_c_spelling(x) for x in _split_params(m.group(2))]
        if params == ["void"]:
            params = []
        signature = (returns, tuple(params))
        typedef = next((n for n, target in self.hs.typedefs.items() if _callback_signature(target) == signature),
                       None)
        if typedef is not None:
            self.note((*path, "type"), p.where, f"the header's typedef {typedef} has this signature")
            cb_name = typedef
        else:
            cb_name = f"{f.name}_{name}_fn"
            self.note((*path, "type"), p.where, f"`{p.ctype}`: a callback type named after the parameter — rename")
        if cb_name not in self.types:
            entry: dict[str, Any] = {"name": cb_name, "kind": "callback", "returns": returns, "params": params,
                                     "doc": f"A callback of {f.name}."}
            if typedef is not None and self.existing:
                entry["header"] = Path(self.hs.headers[0]).name
            self.types[cb_name] = entry
        return cb_name

    @staticmethod
    def _buffer_size(f: CFunction, i: int, p: CParam) -> str | None:
        """`char* buf, int buf_size`: the integer right after a non-const `char*` whose name says
        it is a size."""
        if p.ctype != "char*" or i + 1 >= len(f.params):
            return None
        nxt = f.params[i + 1]
        if nxt.ctype in _SCALARS and re.search(r"size|len|cap|count|bytes", nxt.name, re.I):
            return nxt.name
        return None

    def _direction(self, p: CParam, is_err: bool) -> tuple[str, str]:
        if is_err:
            return "out", "the error channel"
        if re.search(r"\bOUT\b|\bReceives\b|\bOutput\b|\bout-param", p.note):
            return "out", ph.quote(p.note)
        if p.ctype.endswith("**") and not p.ctype.startswith("const"):
            return "out", "a pointer to a pointer: guessed out — confirm"
        base = p.ctype.rstrip("*")
        if p.ctype.endswith("*") and not p.ctype.startswith("const") and base in _SCALARS and base != "char":
            return "out", f"a non-const `{p.ctype}`: guessed out — confirm"
        return "in", "guessed from the type — confirm"

    def _nullable(self, out: dict[str, Any], structured: dict[str, Any], doc: Any, p: CParam,
                  path: tuple[str | int, ...]) -> None:
        if "nullable" in structured:
            if structured["nullable"]:
                out["nullable"] = True
            return
        text = (doc.text if doc else "") + " " + p.note
        where = doc.where if doc else p.where
        m_not = ph.NOT_NULL.search(text)
        m_may = ph.NULLABLE.search(text)
        if m_may and not m_not:
            out["nullable"] = True
            self.note((*path, "nullable"), where, ph.quote(text, m_may))
        elif m_not:
            self.note((*path,), where, f"not nullable: {ph.quote(text, m_not)}")
        elif self.global_nullable is not None:
            out["nullable"] = True
            self.note((*path, "nullable"), self.global_nullable.where,
                      f"the header's global rule: {self.global_nullable.text} — confirm")
        else:
            self.note((*path,), p.where, "nullability not stated; the spec default (must not be NULL) applies "
                      "— confirm")

    def _param_ownership(self, f: CFunction, i: int, p: CParam, doc: Any) -> tuple[str, Where | str, str] | None:
        ptr = p.ctype
        for h in self.hs.opaques:
            if ptr == f"{h.name}*" and i == 0 and any(x.get("destroyed_by") == f.name for x in self.handles):
                return "transferred", f.where, f"{f.name} destroys the {h.name}"
        if doc and re.search(r"\btakes ownership\b|\bownership (?:is )?transferred\b", doc.text, re.I):
            return "transferred", doc.where, ph.quote(doc.text)
        return None

    def _allowed(self, f: CFunction, p: CParam, value: int, name: str) -> dict[str, Any]:
        macro = f"{self.prefix.upper()}{p.name.upper()}_{name}"
        c = next((c for c in self.hs.constants if c.name == macro), None)
        doc = c.note if c else ""
        doc = re.sub(rf"^{re.escape(f.name)}\(\) {re.escape(p.name)}: ", "", doc)
        return {"value": value, "name": name, "doc": doc or name}
