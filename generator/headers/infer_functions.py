"""Functions: parameters (direction, nullability, ownership, ranges, buffers, callbacks), results,
error sets, thread safety, deprecation."""

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


class FunctionsPart(Base):
    def _function(self, index: int, f: CFunction) -> dict[str, Any]:
        facts = self.docs[f.name]
        path: tuple[str | int, ...] = ("functions", index)
        out: dict[str, Any] = {"name": f.name}
        role = self._role(f, facts)
        if role:
            out["role"] = role[0]
            self.note((*path, "role"), role[1], role[2])
        out["group"] = self.group_of[f.name]
        if facts.since:
            out["since"] = facts.since.text.split()[0]
        else:
            out["since"] = self.version
            self.note((*path, "since"), f.where, "not stated; set to the interface version")
        if facts.brief:
            out["doc"] = facts.brief.text
        else:
            self.note((*path,), f.where, "no doc comment found: `doc` must be written")
        if facts.details:
            out["details"] = " ".join(t.text for t in facts.details)
        if facts.requirements:
            out["requirements"] = facts.requirements
        out["params"] = [self._param(f, facts, i, p, (*path, "params", i)) for i, p in enumerate(f.params)]
        out["returns"] = self._returns(f, facts, (*path, "returns"))
        out["errors"] = self._fn_errors(f, facts, path)
        if self.stated_channels:
            stated = self.stated_channels.get(f.name, {"kind": "none"})
            if stated != self.stated_default:
                out["error_channel"] = stated
            results: list[str] = []
        else:
            results = self._results_named(f)
        if results:
            out["error_channel"] = {"kind": "status", "success": [self.status[0], *results]} if self.status else {}
            self.note((*path, "error_channel"), f.doc.where if f.doc else f.where,
                      f"its doc names {', '.join(results)}, which the table marks as results, not errors")
        if f.name in self.channel_none:
            out["error_channel"] = {"kind": "none"}
            self.note((*path, "error_channel"), f.where, "returns no code of the table: cannot fail, or fails "
                      "some other way — confirm")
        out["thread_safety"] = self._fn_thread(f, facts, path)
        alias = next((n for n in facts.notes if re.fullmatch(r"Alias of (\w+)\(\)\.", n.text)), None)
        if alias:
            out["alias_of"] = re.fullmatch(r"Alias of (\w+)\(\)\.", alias.text).group(1)  # type: ignore[union-attr]
        if facts.deprecated or f.deprecated is not None:
            out["deprecated"] = self._deprecated(f, facts, path)
        for title, t in facts.sections.items():
            m = re.fullmatch(r"Exception (EX-[a-z0-9-]+)", title)
            rule = re.match(r"^(LINT-[a-z0-9-]+): (.*)$", t.text)
            if m and rule:
                ex = self.exceptions.setdefault(m.group(1), {"id": m.group(1), "applies_to": [],
                                                             "rule": rule.group(1), "reason": rule.group(2)})
                ex["applies_to"].append(f.name)
        notes = [n.text for n in facts.notes if n is not alias]
        if notes:
            out["notes"] = notes
        return out

    def _role(self, f: CFunction, facts: DocFacts) -> tuple[str, Where, str] | None:
        if facts.role:
            return facts.role.text.split()[0], facts.role.where, "@par Role"
        short = f.name.removeprefix(self.prefix)
        if (f.returns == "const char*" and len(f.params) == 1 and f.params[0].ctype in ("int", *(
                [self.table.enum] if self.table else [])) and re.search(r"err", short, re.I)
                and re.search(r"str|message|msg|text", short, re.I)):
            return "error_message", f.where, "`const char* (int code)` named for error text: guessed — confirm"
        return None

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

    def _returns(self, f: CFunction, facts: DocFacts, path: tuple[str | int, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": f.returns}
        if f.returns == "void":
            return out
        text = facts.returns.text if facts.returns else ""
        where = facts.returns.where if facts.returns else f.where
        gen = ph.return_clauses(text) if text else {}
        structured = any(gen.get(k) for k in ("ownership", "on_error", "false_means", "nullable"))
        pointer = f.returns.endswith("*")
        if gen.get("ownership"):
            out["ownership"] = gen["ownership"]
        elif pointer:
            own = self._return_ownership(f, text)
            if own:
                out["ownership"] = own[0]
                self.note((*path, "ownership"), where, own[1])
            else:
                self.note((*path,), where, "who owns the returned pointer is not stated — decide")
        if gen.get("nullable"):
            out["nullable"] = True
        elif pointer and not structured and (m := ph.NULL_ON_ERROR.search(text)):
            out["nullable"] = True
            self.note((*path, "nullable"), where, ph.quote(text, m))
        if gen.get("on_error"):
            out["on_error"] = gen["on_error"]
        elif not structured and pointer and (m := ph.NULL_ON_ERROR.search(text)):
            out["on_error"] = "NULL"
            self.note((*path, "on_error"), where, ph.quote(text, m))
        if gen.get("false_means"):
            out["false_means"] = gen["false_means"]
        elif f.returns in ("bool", "_Bool"):
            self.note((*path,), where, "what `false` means is not stated (`false_means`) — decide")
        values = []
        for macro, t in facts.retvals:
            c = next((c for c in self.hs.constants if c.name == macro and isinstance(c.value, int)), None)
            if c is not None:
                short = f"{self.prefix}{f.name.removeprefix(self.prefix)}_".upper()
                values.append({"value": c.value, "name": macro.removeprefix(short), "doc": t.text})
        if values:
            out["values"] = values
        doc = gen.get("doc", text) if text else ""
        if doc:
            out["doc"] = doc
        return out

    def _return_ownership(self, f: CFunction, text: str) -> tuple[str, str] | None:
        if any(h["created_by"] == f.name for h in self.handles):
            return "transferred", f"{f.name} creates the handle"
        m = ph.STATIC.search(text)
        if m:
            return "static", ph.quote(text, m)
        m = ph.FREE_WITH.search(text)
        if m:
            return "transferred", ph.quote(text, m)
        return None

    def _fn_errors(self, f: CFunction, facts: DocFacts, path: tuple[str | int, ...]) -> list[str]:
        if not facts.errors and getattr(self, "status", None) is not None and self.table is not None:
            return self._status_errors(f, path)
        if not facts.errors:
            if self.err_param and any(p.name == self.err_param[0] for p in f.params):
                self.note((*path, "errors"), f.where, "the header lists no error codes for this function — decide")
            return []
        names = self.code_keys
        keys = []
        for name, t in facts.errors:
            key = names.get(name) or (self.table.key(name) if self.table else name)
            if name not in names:
                self.note((*path, "errors"), t.where, f"{name} is not in the error table")
            if key not in keys:
                keys.append(key)
        if facts.errors_stated and not any(names.get(n) for n, _ in facts.errors):
            pass
        return keys

    def _results_named(self, f: CFunction) -> list[str]:
        """Result codes (not errors) a status-returning function's doc names (SQLITE_ROW)."""
        if self.status is None or self.table is None or f.returns not in ("int", self.table.enum):
            return []
        names = {n for n, _, _, _ in self.table.codes if self.code_keys.get(n) in self.result_keys}
        out: list[str] = []
        for n in self._codes_named(f, names):
            if self.code_keys[n] not in out and self.code_keys[n] != self.status[0]:
                out.append(self.code_keys[n])
        return out

    def _status_errors(self, f: CFunction, path: tuple[str | int, ...]) -> list[str]:
        """Under a status channel: a function returning the code reports the failure codes its
        doc names; any other function gets no channel."""
        assert self.table is not None
        codes = {n: v for n, v, _, _ in self.table.codes}
        named = self._codes_named(f, set(codes)) if f.returns in ("int", self.table.enum) else []
        if not named:
            self.channel_none.add(f.name)
            return []
        keys = self.code_keys
        out: list[str] = []
        for n in named:
            key = keys.get(n, self.table.key(n))
            if codes[n] != 0 and key not in out and key not in self.result_keys:
                out.append(key)
        self.note((*path, "errors"), f.doc.where if f.doc else f.where,
                  "the codes its doc names — confirm which it really returns")
        return out

    def _fn_thread(self, f: CFunction, facts: DocFacts, path: tuple[str | int, ...]) -> dict[str, Any]:
        p = (*path, "thread_safety")
        text = facts.thread.text if facts.thread else ""
        if text:
            m = re.fullmatch(r"externally synchronised(?: on ([\w, ]+?))?(?:; may run concurrently with "
                             r"([\w, ]+?) on the same handle)?\.", text)
            if m:
                out: dict[str, Any] = {"class": "externally_synchronized"}
                if m.group(1):
                    out["sync_on"] = [x.strip() for x in m.group(1).split(",")]
                if m.group(2):
                    out["concurrent_with"] = [x.strip() for x in m.group(2).split(",")]
                return out
            if text == "safe from any thread.":
                return {"class": "safe"}
        cls = self._thread_class(text) or self._thread_class(facts.all_text)
        handle_params = [q.name or f"arg{i}" for i, q in enumerate(f.params)
                         if q.ctype.rstrip("*") in self.handle_names]
        if cls:
            self.note((*p, "class"), facts.thread.where if facts.thread else f.where, cls[1])
            out = {"class": cls[0]}
            if cls[0] == "externally_synchronized" and handle_params:
                out["sync_on"] = handle_params[:1]
            return out
        if handle_params:
            self.note((*p, "class"), f.where, f"not stated; externally synchronised on {handle_params[0]} assumed "
                      "— confirm")
            return {"class": "externally_synchronized", "sync_on": handle_params[:1]}
        self.note((*p, "class"), f.where, "not stated; safe assumed — confirm")
        return {"class": "safe"}

    def _deprecated(self, f: CFunction, facts: DocFacts, path: tuple[str | int, ...]) -> dict[str, Any]:
        text = facts.deprecated.text if facts.deprecated else (f.deprecated or "")
        out: dict[str, Any] = {}
        m = re.match(r"^Since ([\d.]+)\. (.*?)(?: Use (\w+)\(\) instead\.)?$", text)
        if m:
            out["since"] = m.group(1)
            if m.group(3):
                out["replacement"] = m.group(3)
            out["reason"] = m.group(2)
            return out
        m2 = re.search(r"since ([\d.]+)", text)
        m3 = re.search(r"\buse (\w+)", text, re.I)
        if m2:
            out["since"] = m2.group(1)
        else:
            self.note((*path, "deprecated"), f.where, "deprecated, but since when is not stated — decide")
        if m3:
            out["replacement"] = m3.group(1)
        out["reason"] = text or "deprecated in the header"
        return out


