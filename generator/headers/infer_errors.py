"""The error table (an enum, or a run of #define constants), its keys, and the error channel: an
out-parameter, or the return value (status)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from generator.headers import phrases as ph
from generator.headers.infer_base import (
    _ERR_NAME,
    _GENERATED_CODE,
    Base,
    ErrorTable,
    _common_prefix,
)
from generator.headers.problems import Where


class ErrorsPart(Base):
    def _error_table(self) -> ErrorTable | None:
        stated = self._stated_table()
        if stated is not None:
            return stated
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

    def _stated_table(self) -> ErrorTable | None:
        """A generated header lists codes the library's own header defines in a comment
        (`The codes are defined by <sqlite3.h>:` and one `- NAME = VALUE: ...` line each)."""
        for c in self.hs.comments:
            head = re.search(r"The codes are defined by <([^>]+)>:", c.text)
            if not head:
                continue
            codes = []
            for line, text in c.lines:
                m = re.match(r"^\s*- ([A-Za-z_]\w*) = (-?\d+): (.*)$", text)
                if m:
                    codes.append((m.group(1), int(m.group(2)), Where(c.file, line), m.group(3)))
            if codes:
                doc = c.text[:head.start()].strip()
                t = ErrorTable("", codes, "a list in a comment", c.where, doc, header=head.group(1))
                t.prefix = _common_prefix([n for n, v, _, _ in codes if v != 0])
                return t
        return None

    def _errors(self) -> dict[str, Any]:
        t = self.table
        if t is None:
            self.note(("errors",), self.hs.headers[0], "no error table found (no enum or #define run with "
                      "a 0 success code); write the table — decide")
            return {}
        out: dict[str, Any] = {"enum": t.enum} if t.enum else {}
        header = t.header or (Path(t.where.file).name if self.existing else None)
        if header:
            out["header"] = header
            if not t.header:
                self.note(("errors", "header"), t.where, "the codes exist in the library's own header: "
                          "referenced, not re-emitted")
        self.note(("errors", next(iter(out), "codes")), t.where, f"the error table ({t.source}: {len(t.codes)} codes); "
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
            self.note(("errors", next(iter(out), "codes")), t.where, "the message for unknown codes is not stated: "
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
        self.result_keys = {c["key"] for c in codes if c.get("success")}
        if "violation" not in out and self.existing:   # a generated header states it when there is one
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
    def _stated_channels(self) -> dict[str, dict[str, Any]]:
        """`@par Error channel` paragraphs a generated header writes: `The returned code;
        success: SQLITE_OK. Detail text: sqlite3_errmsg() of the sqlite3.`"""
        out: dict[str, dict[str, Any]] = {}
        names = {n: self.code_keys.get(n) or (self.table.key(n) if self.table else n)
                 for n, _, _, _ in (self.table.codes if self.table else [])}
        for f in self.hs.functions:
            t = self.docs[f.name].sections.get("Error channel")
            m = re.match(r"The returned code; success: ([\w, ]+)\.(?: Detail text: (\w+)\(\)(?: of the (\w+))?\.)?$",
                         t.text if t else "")
            if not m:
                continue
            channel: dict[str, Any] = {"kind": "status",
                                       "success": [names.get(x.strip(), x.strip()) for x in m.group(1).split(",")]}
            if m.group(2):
                channel["detail"] = {"function": m.group(2), "scope": "handle" if m.group(3) else "thread"}
            out[f.name] = channel
        if out:
            counts = Counter(json.dumps(c, sort_keys=True) for c in out.values())
            self.stated_default = json.loads(counts.most_common(1)[0][0])
        return out

    def _status_channel(self) -> tuple[str, Where, str] | None:
        """Functions that return the code: most `int` (or error-enum) results whose doc names a
        code of the table (SQLITE_OK, Z_STREAM_ERROR)."""
        t = self.table
        if t is None:
            return None
        names = {n for n, _, _, _ in t.codes}
        ints = [f for f in self.hs.functions if f.returns in ("int", t.enum)]
        naming = [f for f in ints if self._codes_named(f, names)]
        if not naming or len(naming) * 3 < len(ints):
            return None
        success = next((n for n, v, _, _ in t.codes if v == 0), t.codes[0][0])
        return (t.key(success), naming[0].where,
                f"{len(naming)} of {len(ints)} int-returning functions name codes of the table "
                f"in their docs: the return value is the code; success {success} — confirm")

