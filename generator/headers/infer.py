"""Headers -> a draft spec. Every field that is not a plain copy of a declaration carries its
provenance (header:line and the words it came from), so a reviewer knows what to confirm; a
field the headers do not state is left out, and the spec's lints then ask for it."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.headers import phrases as ph
from generator.headers.doctext import DocFacts, Text, parse
from generator.headers.ir import CFunction, COpaque, CParam, HeaderSet
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


def infer(hs: HeaderSet, prefix: str | None = None) -> Draft:
    return _Inferrer(hs, prefix).run()


class _Inferrer:
    def __init__(self, hs: HeaderSet, prefix: str | None):
        # A function declared in several headers is imported once, as first declared; the audit
        # reports the others.
        seen: set[str] = set()
        unique = [f for f in hs.functions if not (f.name in seen or seen.add(f.name))]  # type: ignore[func-returns-value]
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
    def run(self) -> Draft:
        hs = self.hs
        self.table = self._error_table()
        self.err_param = self._error_param()
        self.handles = self._handles()
        self.handle_names = {h["name"] for h in self.handles}
        self.groups, self.group_of = self._groups()
        data: dict[str, Any] = {"spec_format": 1, "interface": self._interface()}
        if not self._generated():
            name = data["interface"]["name"]
            data["targets"] = {"mode": "existing_library", "native": {"library": name}}
            self.note(("targets",), hs.headers[0], f"the header exists, so the spec describes an existing "
                      f"library; its shared library is assumed to be lib{name}.so — confirm")
        data["groups"] = self.groups
        data["errors"] = self._errors()
        data["handles"] = self.handles
        self.exceptions: dict[str, dict[str, Any]] = {}
        data["functions"] = [self._function(i, f) for i, f in enumerate(hs.functions)]
        if self.exceptions:
            data["exceptions"] = list(self.exceptions.values())
        self.summary += [f"{len(hs.functions)} function(s) imported"]
        if hs.skipped:
            kinds = Counter(s.kind for s in hs.skipped)
            self.summary.append("skipped (the spec language cannot state these; see `ffispec audit`): " +
                                ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
            for s in hs.skipped:
                self.summary.append(f"  skipped {s.kind} {s.name} at {s.where}: {s.reason}")
        return Draft(data, self.prov, self.summary)

    # ------------------------------------------------------------ interface
    def _prefix(self) -> str:
        return guess_prefix([f.name for f in self.hs.functions])

    def _global_nullable(self) -> Text | None:
        for doc in self.hs.file_docs.values():
            m = ph.GLOBAL_NULLABLE.search(doc.text)
            if m:
                return Text(ph.quote(doc.text, m), Where(doc.file, doc.line_of(m.group(0).split()[0])))
        return None

    def _interface(self) -> dict[str, Any]:
        hs = self.hs
        main = hs.headers[0]
        stem = re.sub(r"\W", "_", Path(main).stem)
        name = stem if re.match(r"^[A-Za-z_]", stem) else f"h_{stem}"
        out: dict[str, Any] = {"name": name}
        self.note(("interface", "name"), main, "the first header's file name")
        doc = hs.file_docs.get(main)
        facts = parse(doc) if doc else None
        version = self._version(name)
        if facts and facts.brief:
            title = re.sub(r"\s+v?\d+\.\d+\.\d+\s*$", "", facts.brief.text.strip())
            out["title"] = title
        out["version"] = self.version = version[0] if version else "0.1.0"
        self.note(("interface", "version"), *(version[1:] if version else
                                                (main, "no version macro found; 0.1.0 assumed — confirm")))
        out["c_prefix"] = self.prefix
        self.note(("interface", "c_prefix"), main, "the prefix most function names share")
        body = [t.text for t in facts.details] if facts else []
        if body:
            out["doc"] = " ".join(body) if len(body) == 1 else "\n\n".join(body)
        elif facts and facts.brief and not out.get("title"):
            out["doc"] = facts.brief.text
        header: dict[str, Any] = {"path": main}
        guard = hs.guards.get(main)
        if guard:
            header["guard"] = guard
        else:
            self.note(("interface", "header"), main, "no include guard found; `guard` must be chosen")
        apis = Counter(f.api_macro for f in hs.functions if f.api_macro)
        if apis:
            header["api_macro"] = apis.most_common(1)[0][0]
            self.note(("interface", "header", "api_macro"), main,
                      f"{apis.most_common(1)[0][1]} of {len(hs.functions)} declarations start with it")
        else:
            header["api_macro"] = f"{name.upper()}_API"
            self.note(("interface", "header", "api_macro"), main,
                      "the declarations carry no export macro; this is the one the generated header will "
                      "define — rename it if you like")
        includes = [i for i in hs.includes.get(main, ()) if re.fullmatch(r"[A-Za-z0-9_/]+\.h", i)]
        if includes:
            header["includes"] = includes
        out["header"] = header
        if self.err_param:
            out["error_out_param"] = self.err_param[0]
            self.note(("interface", "error_out_param"), self.err_param[1], self.err_param[2])
        else:
            self.note(("interface", "error_out_param"), main,
                      "no function has an error out-parameter; errors travel some other way (a status "
                      "return, errno, a sentinel) that this spec language version cannot state — decide")
        return out

    def _generated(self) -> bool:
        """The first header was written by `ffispec generate` (its banner says so)."""
        doc = self.hs.file_docs.get(self.hs.headers[0])
        try:
            head = Path(self.hs.headers[0]).read_text(encoding="utf-8", errors="replace")[:400]
        except OSError:
            head = doc.text if doc else ""
        return "Generated by ffispec" in head

    def _version(self, name: str) -> tuple[str, Where, str] | None:
        consts = {c.name: c for c in self.hs.constants}
        up = name.upper()
        for base in (up, *sorted({c.name[:-len("_VERSION_MAJOR")] for c in consts.values()
                                  if c.name.endswith("_VERSION_MAJOR")})):
            parts = [consts.get(f"{base}_VERSION_{p}") for p in ("MAJOR", "MINOR", "PATCH")]
            if all(p is not None and isinstance(p.value, int) for p in parts):
                text = ".".join(str(p.value) for p in parts if p is not None)
                first = parts[0]
                assert first is not None
                return text, first.where, f"{base}_VERSION_MAJOR/MINOR/PATCH"
        for c in consts.values():
            if isinstance(c.value, str) and c.name.endswith("VERSION") or c.name.endswith("VERSION_STRING"):
                m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", str(c.value))
                if m:
                    return f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}", c.where, f'{c.name} "{c.value}"'
        return None

    # --------------------------------------------------------------- errors
    def _error_table(self) -> ErrorTable | None:
        mentioned = Counter(n for d in self.docs.values() for n, _ in d.errors)
        best: tuple[int, ErrorTable] | None = None
        for e in self.hs.enums:
            names = [x.name for x in e.enumerators]
            score = 3 * sum(mentioned[n] > 0 for n in names)
            score += 2 * bool(re.search(r"err|status|result|code", e.name or e.tag, re.I))
            score += 2 * any(x.value == 0 and re.search(r"SUCCESS|_OK$", x.name) for x in e.enumerators)
            score += min(3, sum(bool(re.search(r"ERR|FAIL", n)) for n in names))
            if score >= 4 and (best is None or score > best[0]):
                t = ErrorTable(e.name or e.tag, [(x.name, x.value, x.where, x.note) for x in e.enumerators],
                               "enum", e.where, e.doc.text if e.doc else "")
                best = (score, t)
        if best is None:
            run = self._constant_table()
            if run:
                best = (0, run)
        if best is None:
            return None
        t = best[1]
        failing = [n for n, v, _, _ in t.codes if v != 0] or [n for n, _, _, _ in t.codes]
        t.prefix = _common_prefix(failing)
        return t

    def _constant_table(self) -> ErrorTable | None:
        """A run of adjacent integer #defines holding `X_OK 0` or `X_SUCCESS 0` (SQLite, zlib)."""
        consts = [c for c in self.hs.constants if isinstance(c.value, int)]
        for i, c in enumerate(consts):
            if c.value == 0 and re.search(r"_(OK|SUCCESS)$", c.name):
                run = [c]
                for nxt in consts[i + 1:]:
                    if nxt.where.file != c.where.file or nxt.where.line - run[-1].where.line > 3:
                        break
                    run.append(nxt)
                if len(run) >= 3:
                    enum = _common_prefix([x.name for x in run]).rstrip("_") or run[0].name
                    return ErrorTable(enum, [(x.name, int(x.value), x.where, x.note) for x in run],
                                      "constants", c.where)
        return None

    def _errors(self) -> dict[str, Any]:
        t = self.table
        if t is None:
            self.note(("errors",), self.hs.headers[0], "no error table found (no enum or #define run with "
                      "a 0 success code); write the table — decide")
            return {}
        out: dict[str, Any] = {"enum": t.enum}
        self.note(("errors", "enum"), t.where, f"the error table ({t.source}: {len(t.codes)} codes); "
                  f"keys are the names without {t.prefix!r}")
        stated = re.compile(r"(?:Extensible: new codes may be appended; an|An) unknown value's message is "
                            r"\"((?:[^\"\\]|\\.)*)\"\.")
        text = " ".join(t.doc.split())
        m = stated.search(text)
        doc = stated.sub("", text).strip()
        ext = re.search(r"\bExtensible\b|\bnew codes (?:may|can|are) (?:be )?appended\b", text)
        if ext:
            out["extensible"] = True
            self.note(("errors", "extensible"), t.where, ph.quote(text, ext))
        violation = re.search(r"A broken rule reports ([A-Z][A-Z0-9_]*) unless its parameter names another\.", text)
        if violation:
            out["violation"] = violation.group(1)
        unknown = re.search(r"An unrecognised value reads as ([A-Z][A-Z0-9_]*)\.", text)
        if unknown:
            out["unknown"] = unknown.group(1)
        doc = re.sub(r"\s*(?:A broken rule reports [A-Z0-9_]+ unless its parameter names another|"
                     r"An unrecognised value reads as [A-Z0-9_]+)\.", "", doc).strip()
        if doc:
            out["doc"] = doc
        if m:
            out["unrecognized_message"] = m.group(1).replace('\\"', '"').replace("\\\\", "\\")
        else:
            self.note(("errors", "enum"), t.where, "the message for unknown codes is not stated: "
                      "`unrecognized_message` must be chosen")
        codes = []
        for i, (name, value, where, note) in enumerate(t.codes):
            code: dict[str, Any] = {"name": name, "value": value}
            gen = _GENERATED_CODE.match(note)
            if gen:
                code.update(key=gen["key"], message=gen["msg"])
                if gen["http"]:
                    code.update(http_status=int(gen["http"]), retriable=bool(gen["retr"]))
                if gen["result"]:
                    code["success"] = True
                if gen["since"]:
                    code["since"] = gen["since"]
            else:
                code["key"] = t.key(name)
                if note:
                    code["message"] = note.split(". ")[0].rstrip(".")
                    self.note(("errors", "codes", i, "message"), where, ph.quote(note))
                self.note(("errors", "codes", i), where, "http_status and retriable are not stated in "
                          "the header — decide")
            if value < 0:
                self.note(("errors", "codes", i, "value"), where, "a negative code: this spec language "
                          "version pins non-negative values only")
            codes.append(code)
        out["codes"] = codes
        self.code_keys = {c["name"]: c["key"] for c in codes}
        if "violation" not in out:
            guess = next((c for c in codes if re.fullmatch(r"INVALID_(?:PARAM|PARAMETER|ARG|ARGUMENT|ARGS)|"
                                                           r"EINVAL|BAD_(?:PARAM|ARG)\w*|MISUSE", c["key"])), None)
            if guess is not None:
                out["violation"] = guess["key"]
                self.note(("errors", "violation"), t.where, f"{guess['name']} is the code named for invalid "
                          "arguments: guessed as what a broken rule reports — confirm")
        return out

    def _error_param(self) -> tuple[str, Where, str] | None:
        enum = self.table.enum if self.table else None
        seen: Counter[str] = Counter()
        first: dict[str, Where] = {}
        for f in self.hs.functions:
            for p in f.params:
                doc = self.docs[f.name].params.get(p.name)
                text = (doc.text if doc else "") + " " + p.note
                if p.ctype in ("int*", f"{enum}*") and (_ERR_NAME.search(p.name) or
                                                         re.search(r"\b(?:error|result|status) code\b", text, re.I)):
                    seen[p.name] += 1
                    first.setdefault(p.name, p.where)
        if not seen:
            return None
        name, n = seen.most_common(1)[0]
        return name, first[name], f"an `int*` out-parameter named `{name}` in {n} function(s)"

    # -------------------------------------------------------------- handles
    def _handles(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for o in self.hs.opaques:
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

    @staticmethod
    def _thread_class(text: str) -> tuple[str, str] | None:
        return _thread_class(text)

    # --------------------------------------------------------------- groups
    def _groups(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        groups: list[dict[str, Any]] = []
        group_of: dict[str, str] = {}
        sections = sorted(self.hs.sections, key=lambda s: (s.file, s.start))
        by_name: dict[str, dict[str, Any]] = {}
        for s in sections:
            m = re.search(r"@defgroup (\w+) ([^\n]*)", s.text)
            if m:
                name, title = m.group(1), m.group(2).strip()
                doc = " ".join(t for _, t in s.lines if "@defgroup" not in t and "@{" not in t).strip()
            else:
                first = re.sub(r"^[\s=\-#*]+|[\s=\-#*]+$", "", s.text.splitlines()[0])
                title, _, doc = first.partition(": ")
                name = re.sub(r"\W+", "_", title.strip().lower()).strip("_")
            if name and name not in by_name:
                g = {"name": name, "title": title or name}
                if doc.strip():
                    g["doc"] = doc.strip()
                by_name[name] = g
                groups.append(g)
        for f in self.hs.functions:
            facts = self.docs[f.name]
            if facts.group and facts.group.text in by_name:
                group_of[f.name] = facts.group.text
                continue
            above = [s for s in sections if s.file == f.where.file and s.start < f.where.line]
            if above:
                s = above[-1]
                m = re.search(r"@defgroup (\w+)", s.text)
                first = re.sub(r"^[\s=\-#*]+|[\s=\-#*]+$", "", s.text.splitlines()[0])
                group_of[f.name] = m.group(1) if m else re.sub(r"\W+", "_", first.partition(": ")[0].lower()).strip("_")
        if len(group_of) < len(self.hs.functions):
            stem = re.sub(r"\W", "_", Path(self.hs.headers[0]).stem)
            if stem not in by_name:
                groups.append({"name": stem, "title": stem})
            for f in self.hs.functions:
                group_of.setdefault(f.name, stem)
        return groups, group_of

    # ------------------------------------------------------------ functions
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
            self.note((*path, "type"), p.where, "a pointer to a function: this spec language version has no "
                      "callback types")
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
        text = clauses.doc if doc else p.note
        if text:
            out["doc"] = text
        return out

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
        if not facts.errors:
            if self.err_param and any(p.name == self.err_param[0] for p in f.params):
                self.note((*path, "errors"), f.where, "the header lists no error codes for this function — decide")
            return []
        names = getattr(self, "code_keys", {})
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
        handle_params = [q.name for q in f.params if q.ctype.rstrip("*") in self.handle_names]
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
