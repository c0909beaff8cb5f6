"""What a set of headers contradicts, each finding with every location involved. Reads the
same declarations and doc facts as `import`; names no particular interface."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from generator.headers import phrases as ph
from generator.headers.doctext import DocFacts, parse
from generator.headers.findings import RULES, Finding
from generator.headers.infer_base import guess_prefix
from generator.headers.ir import CFunction, HeaderSet
from generator.headers.problems import Where


def audit(hs: HeaderSet, prefix: str | None = None) -> list[Finding]:
    a = _Auditor(hs, prefix)
    a.run()
    order = list(RULES)
    return sorted(a.findings, key=lambda f: (order.index(f.rule), f.where, f.subject))


class _Auditor:
    def __init__(self, hs: HeaderSet, prefix: str | None):
        self.hs = hs
        self.prefix = prefix or guess_prefix([f.name for f in hs.functions])
        self.findings: list[Finding] = []
        self.docs: dict[int, DocFacts] = {id(f): parse(f.doc) for f in hs.functions}

    def add(self, rule: str, subject: str, message: str, *where: Where) -> None:
        self.findings.append(Finding(rule, subject, message, tuple(where)))

    def run(self) -> None:
        self.constants()
        self.declarations()
        self.enum_claims()
        self.table = self._table()
        self.err_param = self._err_param()
        self.null_rules()
        self.error_lists()
        self.aliases()
        self.booleans()
        self.error_channels()
        self.ranges()
        self.thread_safety()
        self.documentation()

    # ------------------------------------------------------------- checks
    def constants(self) -> None:
        values: dict[str, list[tuple[int, Where]]] = defaultdict(list)
        for e in self.hs.enums:
            for x in e.enumerators:
                values[x.name].append((x.value, x.where))
        for c in self.hs.constants:
            if isinstance(c.value, int):
                values[c.name].append((c.value, c.where))
        for name, seen in values.items():
            distinct = sorted({v for v, _ in seen})
            if len(distinct) > 1:
                desc = ", ".join(f"{v} at {w}" for v, w in seen)
                self.add("AUDIT-constant-conflict", name, f"{name} is {desc}", *[w for _, w in seen])

    def declarations(self) -> None:
        by_name: dict[str, list[CFunction]] = defaultdict(list)
        for f in self.hs.functions:
            by_name[f.name].append(f)
        for name, decls in by_name.items():
            if len(decls) < 2:
                continue
            kinds = {d.type_key for d in decls}
            if len(kinds) > 1:
                self.add("AUDIT-declaration-conflict", name, " vs ".join(f"`{d.signature}` at {d.where}"
                                                                           for d in decls), *[d.where for d in decls])
            else:
                self.add("AUDIT-declared-twice", name, f"{name} is declared in {len(decls)} places "
                         "(one header should own it)", *[d.where for d in decls])
        enums: dict[str, list[Where]] = defaultdict(list)
        for e in self.hs.enums:
            if e.name:
                enums[e.name].append(e.where)
        for name, wheres in enums.items():
            if len(wheres) > 1:
                self.add("AUDIT-declared-twice", name, f"type {name} is defined in {len(wheres)} places", *wheres)

    def enum_claims(self) -> None:
        """A comment above an enum, or its header's leading comment, that calls the values
        gap-free (sequential, contiguous) while they are not."""
        for e in self.hs.enums:
            values = sorted(x.value for x in e.enumerators)
            gaps = [(a, b) for a, b in zip(values, values[1:], strict=False) if b - a > 1]
            if not gaps:
                continue
            for c in [x for x in (e.doc, self.hs.file_docs.get(e.where.file)) if x is not None]:
                m = ph.NO_GAPS.search(c.text)
                if m:
                    a, b = gaps[0]
                    self.add("AUDIT-enum-claim", e.name or e.tag, f"\"{ph.quote(c.text, m)}\", but "
                             f"{e.name or e.tag} jumps from {a} to {b}", Where(c.file, c.line_of(m.group(0))), e.where)
                    break

    def _table(self) -> dict[str, int]:
        """Every enumerator and integer constant named in some function's error list, and
        their table-mates: the error table(s) the docs refer to."""
        listed = {n for f in self.hs.functions for n, _ in self.docs[id(f)].errors}
        table: dict[str, int] = {}
        self.table_where: Where | None = None
        for e in self.hs.enums:
            if any(x.name in listed for x in e.enumerators):
                self.table_where = self.table_where or e.where
                for x in e.enumerators:
                    table.setdefault(x.name, x.value)
        return table

    def _err_param(self) -> str | None:
        counts: dict[str, int] = defaultdict(int)
        for f in self.hs.functions:
            for p in f.params:
                if p.ctype == "int*" and re.search(r"(?:^|_)(?:err|error|error_code|errcode|status)$", p.name):
                    counts[p.name] += 1
        return max(counts, key=lambda k: counts[k]) if counts else None

    def null_rules(self) -> None:
        rule = None
        for doc in self.hs.file_docs.values():
            m = ph.GLOBAL_NULLABLE.search(doc.text)
            if m:
                rule = (Where(doc.file, doc.line_of(m.group(0).split()[0])), ph.quote(doc.text, m))
        for f in self.hs.functions:
            facts = self.docs[id(f)]
            for p in f.params:
                d = facts.params.get(p.name)
                if d is None or not p.ctype.endswith("*"):
                    continue
                m_not = ph.NOT_NULL.search(d.text)
                if rule is not None and m_not:
                    self.add("AUDIT-null-rule-conflict", f"{f.name}.{p.name}",
                             f"the header says \"{rule[1]}\" but {f.name} says {p.name} "
                             f"\"{ph.quote(d.text, m_not)}\"", rule[0], d.where)
            if self.err_param:
                for code, t in facts.errors:
                    if re.search(rf"\b{re.escape(self.err_param)}\b[^.;]*\bNULL\b", t.text):
                        self.add("AUDIT-error-channel-null", f.name,
                                 f"{f.name} lists {code} for a NULL {self.err_param}, but a NULL "
                                 f"{self.err_param} leaves nowhere to write the code", t.where)

    def error_lists(self) -> None:
        table = self.table
        if not table:
            return
        listed: set[str] = set()
        for f in self.hs.functions:
            for name, t in self.docs[id(f)].errors:
                listed.add(name)
                if name not in table:
                    self.add("AUDIT-error-not-in-table", f"{f.name}: {name}",
                             f"{f.name} lists {name}, which the error table does not have", t.where,
                             *([self.table_where] if self.table_where else []))
        where: dict[str, list[Where]] = defaultdict(list)
        for e in self.hs.enums:
            for x in e.enumerators:
                where[x.name].append(x.where)
        for name, value in table.items():
            if value != 0 and name not in listed:
                self.add("AUDIT-error-unlisted", name, f"no function lists {name} among its errors", *where[name])

    def aliases(self) -> None:
        groups: dict[tuple[Any, ...], list[CFunction]] = defaultdict(list)
        seen: set[str] = set()
        for f in self.hs.functions:
            if f.name in seen:
                continue
            seen.add(f.name)
            facts = self.docs[id(f)]
            if not facts.brief or re.search(r"\balias\b|\bdeprecated\b", facts.all_text, re.I):
                continue
            key = (f.type_key, _norm(facts.brief.text), _norm(facts.returns.text if facts.returns else ""))
            groups[key].append(f)
        for fns in groups.values():
            # Declarations under one shared comment (SQLite's groups) are documented together,
            # not twice: only separate comments with the same text are evidence of an alias.
            if len({(f.doc.file, f.doc.start) for f in fns if f.doc is not None}) > 1:
                names = ", ".join(f.name for f in fns)
                self.add("AUDIT-undeclared-alias", names, f"{names} have the same signature and doc; mark one "
                         "as an alias (alias_of) or say how they differ", *[f.where for f in fns])

    def booleans(self) -> None:
        for f in self._unique():
            if f.returns not in ("bool", "_Bool"):
                continue
            facts = self.docs[id(f)]
            text = " ".join(t.text for t in ([facts.returns] if facts.returns else []) + facts.details)
            where = facts.returns.where if facts.returns else f.where
            if "false with code 0 means" in text:
                continue
            m = re.search(r"\bfalse\b[^.]*", text, re.I)
            if not m:
                self.add("AUDIT-bool-false-undocumented", f.name,
                         f"{f.name} returns bool, and no doc says what false means", where)
            elif re.search(r"\berror\b|\bfail", m.group(0), re.I) and re.search(r"\bor\b|\band\b", m.group(0)):
                self.add("AUDIT-bool-false-ambiguous", f.name,
                         f"{f.name}: \"{ph.quote(m.group(0))}\" — false means an outcome and an error alike",
                         where)

    def error_channels(self) -> None:
        if not self.err_param:
            return
        for f in self._unique():
            if f.returns == "void" or any(p.name == self.err_param for p in f.params):
                continue
            facts = self.docs[id(f)]
            if any(t.text.startswith("LINT-fallible-needs-error-channel:") for t in facts.sections.values()):
                continue  # the header states the waiver and its reason
            for t in [x for x in (facts.returns, facts.brief) if x]:
                m = ph.FAILS.search(t.text)
                if m:
                    self.add("AUDIT-no-error-channel", f.name,
                             f"{f.name} can fail (\"{ph.quote(t.text, m)}\") but has no {self.err_param}",
                             t.where)
                    break

    def ranges(self) -> None:
        for f in self._unique():
            facts = self.docs[id(f)]
            for p in f.params:
                d = facts.params.get(p.name)
                if d is None or p.ctype.endswith("*") or "Rules:" in d.text:
                    continue
                m = ph.RANGE.search(d.text)
                if m:
                    self.add("AUDIT-prose-range", f"{f.name}.{p.name}",
                             f"{f.name}.{p.name}: \"{ph.quote(d.text, m)}\" is a rule in prose only; the C "
                             "boundary does not check a comment", d.where)

    def thread_safety(self) -> None:
        unsafe = {}
        for o in self.hs.opaques:
            if o.doc is not None and (m := ph.THREAD_UNSAFE.search(o.doc.text)):
                unsafe[o.name] = (Where(o.doc.file, o.doc.line_of(m.group(0))), ph.quote(o.doc.text, m))
        for f in self._unique():
            facts = self.docs[id(f)]
            text = facts.thread.text if facts.thread else facts.all_text
            m = ph.THREAD_SAFE.search(text)
            if not m or ph.THREAD_UNSAFE.search(text):
                continue
            for p in f.params:
                h = p.ctype.rstrip("*").removeprefix("const ")
                if h in unsafe:
                    where = facts.thread.where if facts.thread else (f.doc.where if f.doc else f.where)
                    self.add("AUDIT-thread-conflict", f"{f.name}.{p.name}",
                             f"{f.name} says \"{ph.quote(text, m)}\" but {h} says \"{unsafe[h][1]}\"",
                             where, unsafe[h][0])
                    break

    def documentation(self) -> None:
        declared = {f.name for f in self.hs.functions}
        macros = {c.name for c in self.hs.constants} | {s.name for s in self.hs.skipped}
        for f in self._unique():
            if f.doc is None:
                self.add("AUDIT-undocumented", f.name, f"{f.name} has no doc comment", f.where)
        if not self.prefix:
            return
        mentioned: dict[str, Where] = {}
        comments = [f.doc for f in self.hs.functions if f.doc] + list(self.hs.file_docs.values())
        comments += [o.doc for o in self.hs.opaques if o.doc] + [e.doc for e in self.hs.enums if e.doc]
        for c in comments:
            for name in re.findall(rf"\b({re.escape(self.prefix)}\w+)\(\)", c.text):
                # `sqlite3_bind_*()` and `xxx` placeholders name families, not functions.
                family = name.endswith("_") or "xxx" in name or any(d.startswith(name + "_") for d in declared)
                if name not in declared and name not in macros and not family:
                    mentioned.setdefault(name, Where(c.file, c.line_of(name + "(")))
        for name, where in sorted(mentioned.items()):
            self.add("AUDIT-undeclared", name, f"{name}() is mentioned in a doc comment but no header declares it",
                     where)

    def _unique(self) -> list[CFunction]:
        seen: set[str] = set()
        return [f for f in self.hs.functions if not (f.name in seen or seen.add(f.name))]  # type: ignore[func-returns-value]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
