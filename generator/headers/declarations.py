"""Read what headers declare: preprocess, parse with pycparser, keep what the user's headers
(not system headers) declare, each with its header:line and its doc comment."""

from __future__ import annotations

import re
from pathlib import Path

from pycparser import c_ast, c_parser  # type: ignore[import-untyped]

from generator.headers.cexpr import NotConstant, evaluate
from generator.headers.comments import Comment, RawHeader
from generator.headers.ir import (
    CConstant,
    CEnum,
    CEnumerator,
    CFunction,
    COpaque,
    CParam,
    HeaderSet,
    Skipped,
)
from generator.headers.preprocess import Preprocessed, preprocess
from generator.headers.problems import HeaderError, HeaderProblem, Where
from generator.headers.spelling import GENERATOR, spell, walk

_PARSE_ERR = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?P<msg>.*)$", re.S)


def read_headers(headers: list[str], include_dirs: list[str] | None = None,
                 defines: list[str] | None = None) -> HeaderSet:
    pre = preprocess(headers, include_dirs or [], defines or [])
    try:
        ast = c_parser.CParser().parse(pre.text, "<unit>")
    except c_parser.ParseError as exc:
        m = _PARSE_ERR.match(str(exc))
        where = Where(m["file"], int(m["line"]), int(m["col"] or 0)) if m else Where(headers[0], 0)
        msg = m["msg"] if m else str(exc)
        if msg.startswith("before:"):
            msg = f"syntax error {msg}"
        raise HeaderError([HeaderProblem("HDR-parse", msg, where,
                                         "pycparser reads standard C; define extensions away with "
                                         "-D (e.g. -D'MY_ATTR(x)=') or fix the header")]) from None
    return _Reader(pre).read(ast)


class _Reader:
    def __init__(self, pre: Preprocessed):
        self.pre = pre
        self.raw: dict[str, RawHeader] = {}
        self.functions: list[CFunction] = []
        self.enums: list[CEnum] = []
        self.opaque_candidates: dict[str, tuple[str, Where]] = {}
        self.defined_structs: set[str] = set()
        self.typedefs: dict[str, str] = {}
        self.skipped: list[Skipped] = []
        self.enumerator_values: dict[str, int] = {}

    def raw_header(self, file: str) -> RawHeader:
        if file not in self.raw:
            try:
                text = Path(file).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            self.raw[file] = RawHeader(file, text)
        return self.raw[file]

    def mine(self, node: c_ast.Node) -> bool:
        return node.coord is not None and node.coord.file in self.pre.user_files

    def where(self, node: c_ast.Node) -> Where:
        return Where(node.coord.file, node.coord.line)

    # ------------------------------------------------------------------- walk
    def read(self, ast: c_ast.FileAST) -> HeaderSet:
        for node in ast.ext:
            self._collect_structs(node)
            if isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.Enum) or \
                    isinstance(node, c_ast.Typedef) and isinstance(getattr(node.type, "type", None), c_ast.Enum):
                self._enum(node)   # values of system enums too, for expressions that use them
            if not self.mine(node):
                if isinstance(node, c_ast.Typedef):
                    self.typedefs[node.name] = spell(node.type)[0]
                continue
            if isinstance(node, c_ast.FuncDef):
                self.skipped.append(Skipped("inline function definition", node.decl.name, self.where(node),
                                            "a function body in a header is not part of an ABI description"))
            elif isinstance(node, c_ast.Typedef):
                self._typedef(node)
            elif isinstance(node, c_ast.Decl):
                self._decl(node)
        opaques = []
        for name, (tag, where) in self.opaque_candidates.items():
            if tag not in self.defined_structs:
                opaques.append(COpaque(name, tag, where, self._doc(where, name)))
        user_files = [f for f in self._ordered_files()]
        for f in user_files:
            self.raw_header(f)
        constants = self._constants(user_files)
        return HeaderSet(
            headers=self.pre.main_files,
            functions=tuple(self.functions), enums=tuple(e for e in self.enums if e.where.file in self.pre.user_files),
            opaques=tuple(opaques), constants=tuple(constants), typedefs=dict(self.typedefs),
            skipped=tuple(sorted(self.skipped, key=lambda s: s.where)),
            file_docs={f: d for f in user_files if (d := self.raw[f].file_doc) is not None},
            sections=tuple(s for f in user_files for s in self.raw[f].sections),
            guards={f: g for f in user_files if (g := self.raw[f].guard)},
            includes={f: self.raw[f].includes for f in user_files},
            comments=tuple(c for f in user_files for c in self.raw[f].comments if c.standalone and c.doxygen),
        )

    def _ordered_files(self) -> list[str]:
        seen: list[str] = []
        for line in self.pre.text.split("\n"):
            if line.startswith("# "):
                m = re.match(r'^# \d+ "((?:[^"\\]|\\.)*)"', line)
                if m and m.group(1) in self.pre.user_files and m.group(1) not in seen:
                    seen.append(m.group(1))
        return seen

    def _collect_structs(self, node: c_ast.Node) -> None:
        for sub in walk(node):
            if isinstance(sub, (c_ast.Struct, c_ast.Union)) and sub.decls is not None and sub.name:
                self.defined_structs.add(sub.name)

    def _doc(self, where: Where, name: str) -> Comment | None:
        raw = self.raw_header(where.file)
        return raw.doc_for(where.line, raw.statement_end(where.line), name)

    def _typedef(self, node: c_ast.Typedef) -> None:
        inner = node.type
        if isinstance(inner, c_ast.TypeDecl) and isinstance(inner.type, (c_ast.Struct, c_ast.Union)):
            s = inner.type
            if s.decls is None and s.name:
                self.opaque_candidates.setdefault(node.name, (s.name, self.where(node)))
            elif s.decls is not None:
                self._struct(s, node.name, self.where(node))
        elif isinstance(inner, c_ast.TypeDecl) and isinstance(inner.type, c_ast.Enum):
            pass  # read in the first pass
        self.typedefs[node.name] = spell(node.type)[0]

    def _decl(self, node: c_ast.Decl) -> None:
        t = node.type
        if isinstance(t, c_ast.FuncDecl):
            self._function(node)
        elif isinstance(t, (c_ast.Struct, c_ast.Union)):
            if t.decls is not None:
                self._struct(t, t.name or "", self.where(node))
        elif isinstance(t, c_ast.Enum):
            pass
        elif node.name:
            self.skipped.append(Skipped("variable", node.name, self.where(node),
                                        "the spec language describes functions, not global variables"))

    def _struct(self, s: c_ast.Struct | c_ast.Union, name: str, where: Where) -> None:
        kind = "union" if isinstance(s, c_ast.Union) else "struct"
        for member in s.decls or []:
            if isinstance(member, c_ast.Decl) and member.bitsize is not None:
                self.skipped.append(Skipped("bit-field", f"{name or s.name}.{member.name}", self.where(member),
                                            "bit-field layout is compiler-defined; the spec language has no "
                                            "bit-fields"))
        self.skipped.append(Skipped(f"{kind} definition", name or s.name or "(anonymous)", where,
                                    "its layout is not imported; functions use it by name (state its fields "
                                    "under `types:` if the contract must)"))

    def _enum(self, node: c_ast.Decl | c_ast.Typedef) -> None:
        e = node.type if isinstance(node.type, c_ast.Enum) else node.type.type
        if e.values is None:
            return
        where = self.where(e) if e.coord is not None else self.where(node)  # the `enum` line, not the name's
        raw = self.raw_header(where.file) if self.mine(node) else None
        values, nxt = [], 0
        for en in e.values.enumerators:
            if en.value is not None:
                try:
                    nxt = evaluate(GENERATOR.visit(en.value), self._lookup)
                except NotConstant:
                    self.skipped.append(Skipped("enumerator", en.name, self.where(en),
                                                "its value is not an integer constant expression"))
                    continue
            self.enumerator_values[en.name] = nxt
            w = self.where(en)
            values.append(CEnumerator(en.name, nxt, w, raw.member_doc(w.line) if raw else ""))
            nxt += 1
        name = node.name if isinstance(node, c_ast.Typedef) else (e.name or "")
        self.enums.append(CEnum(name, e.name or "", tuple(values), where,
                                self._doc(where, name or e.name or "") if raw else None))

    def _lookup(self, name: str) -> int | None:
        return self.enumerator_values.get(name)

    def _function(self, node: c_ast.Decl) -> None:
        fd: c_ast.FuncDecl = node.type
        where = self.where(node)
        raw = self.raw_header(where.file)
        params: list[CParam] = []
        for _i, p in enumerate(fd.args.params if fd.args else []):
            if isinstance(p, c_ast.EllipsisParam):
                self.skipped.append(Skipped("variadic function", node.name, where,
                                            "a variadic function's arguments have no types to state; declare "
                                            "a fixed-argument variant (e.g. taking va_list) instead"))
                return
            ctype, callback = spell(p.type)
            if ctype == "void" and not getattr(p, "name", None):
                continue
            pw = self.where(p) if p.coord else where
            note = raw.trailing(pw.line) if pw.line != where.line else ""
            params.append(CParam(getattr(p, "name", None) or "", ctype, pw, note, callback))
        ret, _ = spell(fd.type)
        end = raw.statement_end(where.line)
        text = " ".join(raw._code_part(k) for k in range(where.line, end + 1))
        self.functions.append(CFunction(
            name=node.name, returns=ret, params=tuple(params), where=where,
            doc=self._doc(where, node.name), api_macro=self._api_macro(text, node.name),
            deprecated=_deprecated(text),
        ))

    def _api_macro(self, text: str, name: str) -> str | None:
        head = text.split(name)[0]
        for tok in re.findall(r"\b[A-Z_][A-Z0-9_]*\b", head):
            if tok in self.pre.macros and tok not in ("const", "CONST"):
                return str(tok)
        return None

    # -------------------------------------------------------------- constants
    def _constants(self, files: list[str]) -> list[CConstant]:
        out: list[CConstant] = []
        cache: dict[str, int | None] = {}

        def value_of(name: str, depth: int = 0) -> int | None:
            if name in self.enumerator_values:
                return self.enumerator_values[name]
            if name in cache:
                return cache[name]
            cache[name] = None
            d = self.pre.macros.get(name)
            if d is None or depth > 20:
                return None
            params, _, body = d.partition("\0")
            if params:
                return None
            try:
                cache[name] = evaluate(body, lambda n: value_of(n, depth + 1))
            except NotConstant:
                cache[name] = None
            return cache[name]

        for f in files:
            raw = self.raw[f]
            guard = raw.guard
            for d in raw.defines:
                active = self.pre.macros.get(d.name)
                if active is None or d.name == guard:
                    continue
                a_params, _, a_body = active.partition("\0")
                if _squash(a_body) != _squash(d.body) or (a_params or None) != (d.params and
                                                                                  d.params.replace(" ", "")):
                    if _squash(a_body) != _squash(d.body):
                        continue  # an inactive branch of an #if
                where = Where(f, d.line)
                if d.params is not None:
                    self.skipped.append(Skipped("function-like macro", d.name, where,
                                                "a macro with parameters has no ABI; import the function it "
                                                "expands to, if any"))
                    continue
                if not d.body:
                    continue  # a flag or an emptied attribute macro: nothing to import
                string = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', d.body)
                if string:
                    out.append(CConstant(d.name, string.group(1), where, raw.member_doc(d.line)))
                    continue
                value = value_of(d.name)
                if value is None:
                    self.skipped.append(Skipped("macro", d.name, where,
                                                f"its value `{d.body[:60]}` is not an integer constant"))
                    continue
                out.append(CConstant(d.name, value, where, raw.member_doc(d.line)))
        return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _deprecated(text: str) -> str | None:
    m = re.search(r"\b\w*DEPRECATED\w*\s*\(\s*\"((?:[^\"\\]|\\.)*)\"", text)
    if m:
        return m.group(1).encode().decode("unicode_escape")
    return "" if re.search(r"\b\w*DEPRECATED\w*\b", text) else None
