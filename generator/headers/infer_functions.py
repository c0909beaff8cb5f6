"""Functions: results, error sets, thread safety, deprecation, roles; their parameters are
infer_params.ParamsPart."""

from __future__ import annotations

import re
from typing import Any

from generator.headers import phrases as ph
from generator.headers.doctext import DocFacts
from generator.headers.infer_params import ParamsPart
from generator.headers.ir import CFunction
from generator.headers.problems import Where


class FunctionsPart(ParamsPart):
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
