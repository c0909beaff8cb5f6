"""What the headers a spec includes declare, as canonical types: the facts the lint
`LINT-declaration-conflict` checks the spec's own declarations against, since the generated
header includes those headers and two different declarations of one name do not compile.

The headers are read as the generated header's users will read them: `#include <name>` for
each, through the system C preprocessor (its default search path, and CPATH /
C_INCLUDE_PATH, which the compiler honours). What they declare is cached per user, keyed by
the preprocessed text, so a spec run with the cache in place costs one preprocessor run.

A canonical type is a small tree, equal for every spelling the compiler treats as the same
type: typedef names are resolved, multi-word integers are spelled one way, and array
parameters are pointers.
    ["b", const, "long long"]       a base type (`struct sqlite3`, `unsigned int`, `_Bool`)
    ["p", const, inner]             a pointer to inner; const: the pointer itself is const
    ["f", returns, [params], more]  a function type; more: it takes `...` after params"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.cc import BUILTIN_TYPES, GNU_DEFINES, find_compiler
from generator.model.ctype import canonical_base
from generator.usercache import cache_dir

Canon = list[Any]
FORMAT = 1  # of the cached summary; bump when its shape or the canonical form changes


@dataclass(frozen=True)
class Declaration:
    canon: Canon
    where: str   # header:line
    text: str    # the declaration as the header's reader spells it, for messages


@dataclass(frozen=True)
class Declared:
    """Functions and typedefs the included headers declare (all of them, nested includes
    too), by name."""

    headers: tuple[str, ...]
    functions: dict[str, Declaration]
    typedefs: dict[str, Declaration]


@dataclass(frozen=True)
class Unchecked:
    """The headers could not be read here; why, in one line."""

    reason: str


@lru_cache(maxsize=8)
def included(headers: tuple[str, ...]) -> Declared | Unchecked:
    """What `#include <h>` of each of `headers` declares, or why that is unknown here."""
    text = _preprocess(headers)
    if isinstance(text, Unchecked):
        return text
    key = hashlib.sha256(f"{FORMAT}\0{sys.version}\0{text}".encode()).hexdigest()[:24]
    base = cache_dir()
    cached = base / f"declared-{key}.json" if base is not None else None
    if cached is not None:
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
            return _from_json(headers, data)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    found = _read(headers, text)
    if cached is not None and isinstance(found, Declared):
        try:
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(_to_json(found)), encoding="utf-8")
            os.replace(tmp, cached)
        except OSError:
            pass  # read-only cache: read the headers every time
    return found


def _preprocess(headers: tuple[str, ...]) -> str | Unchecked:
    found = find_compiler()
    if found is None:
        return Unchecked("no C compiler (cc, gcc or clang) was found; install one or set CC")
    cc = shlex.split(found)
    with tempfile.TemporaryDirectory(prefix="ffispec-") as tmp:
        builtin = Path(tmp, "ffispec_builtins.h")
        builtin.write_text(BUILTIN_TYPES, encoding="utf-8")
        unit = Path(tmp, "ffispec_unit.c")
        unit.write_text("".join(f"#include <{h}>\n" for h in headers), encoding="utf-8")
        argv = [*cc, "-E", "-std=c11", *(f"-D{d}" for d in GNU_DEFINES), "-include", str(builtin),
                str(unit)]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Unchecked(f"the C preprocessor ({cc[0]}) did not run: {exc}")
        if proc.returncode != 0:
            lines = [line.replace(str(unit), "<spec includes>") for line in proc.stderr.splitlines()
                     if "error" in line]
            return Unchecked(f"{cc[0]} -E could not read them: "
                             f"{(lines or ['no message'])[0].strip()}")
        # The temporary names out of the text, so the same headers give the same cache key.
        return proc.stdout.replace(str(unit), "<spec includes>").replace(str(builtin), "<builtins>")


def _read(headers: tuple[str, ...], text: str) -> Declared | Unchecked:
    from pycparser import c_ast, c_parser  # type: ignore[import-untyped]

    try:
        ast = c_parser.CParser().parse(text, "<spec includes>")
    except c_parser.ParseError as exc:
        return Unchecked(f"pycparser cannot parse them ({exc}); "
                         "they use a C extension this check does not know")
    typedefs: dict[str, Declaration] = {}
    functions: dict[str, Declaration] = {}
    reader = _Canonical(c_ast, typedefs)
    as_written = _Canonical(c_ast, {})  # typedef names kept, for messages
    for node in ast.ext:
        where = f"{node.coord.file}:{node.coord.line}" if node.coord else "?"
        if isinstance(node, c_ast.Typedef):
            written = declare(as_written.canon(node.type), node.name)
            typedefs[node.name] = Declaration(reader.canon(node.type), where, f"typedef {written};")
        elif isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl) and node.name:
            written = declare(as_written.canon(node.type), node.name)
            functions.setdefault(node.name, Declaration(reader.canon(node.type), where, f"{written};"))
    return Declared(headers, functions, typedefs)


class _Canonical:
    """Canonical types of pycparser nodes, with the typedefs read so far resolved."""

    def __init__(self, c_ast: Any, typedefs: dict[str, Declaration]):
        self.ast = c_ast
        self.typedefs = typedefs

    def canon(self, node: Any) -> Canon:
        a = self.ast
        if isinstance(node, (a.Typename, a.Decl)):
            return self.canon(node.type)
        if isinstance(node, (a.PtrDecl, a.ArrayDecl)):
            quals = getattr(node, "quals", None) or getattr(node, "dim_quals", None) or []
            return ["p", "const" in quals, self.canon(node.type)]
        if isinstance(node, a.FuncDecl):
            params: list[Canon] = []
            more = False
            for p in node.args.params if node.args else []:
                if isinstance(p, a.EllipsisParam):
                    more = True
                    continue
                c = self.canon(p)
                if c != ["b", False, "void"]:
                    params.append(c)
            return ["f", self.canon(node.type), params, more]
        if isinstance(node, a.TypeDecl):
            const = "const" in node.quals
            inner = node.type
            if isinstance(inner, a.IdentifierType):
                return self.named(_base(list(inner.names)), const)
            kind = {a.Struct: "struct", a.Union: "union", a.Enum: "enum"}.get(type(inner), "?")
            return ["b", const, f"{kind} {getattr(inner, 'name', None) or '(anonymous)'}"]
        return ["b", False, f"?{type(node).__name__}"]

    def named(self, name: str, const: bool) -> Canon:
        found = self.typedefs.get(name)
        return with_const(found.canon if found else ["b", False, name], const)


def with_const(canon: Canon, const: bool) -> Canon:
    """canon, const-qualified at the top when const (a function type has no qualifier)."""
    if not const or canon[0] == "f" or canon[1]:
        return canon
    return [canon[0], True, *canon[2:]]


def _base(words: list[str]) -> str:
    try:
        return {"bool": "_Bool"}.get(canonical_base(words), canonical_base(words))
    except ValueError:
        return " ".join(words)


def of_ctype(base: str, const: bool, levels: tuple[bool, ...], declared: Declared) -> Canon:
    """The canonical type of a type the spec spells as base, const and pointer levels (one
    entry per `*`, True where that pointer is const), with the headers' typedefs resolved."""
    name = _base(base.split())
    found = declared.typedefs.get(name)
    canon = with_const(found.canon if found else ["b", False, name], const)
    for level_const in levels:
        canon = ["p", level_const, canon]
    return canon


_STARS = re.compile(r"((?:\*(?: const)?)+) ?")


def declare(canon: Canon, declarator: str = "") -> str:
    """C source declaring `declarator` with type canon: `const char** pzTail`,
    `void (*)(void*)`."""
    kind = canon[0]
    if kind == "b":
        text = f"{'const ' if canon[1] else ''}{canon[2]}"
        stars = _STARS.match(declarator)
        if stars is not None:  # `char* const* name`: the stars stay with the type
            rest = declarator[stars.end():]
            return f"{text}{stars.group(1)}{' ' + rest if rest else ''}"
        return f"{text} {declarator}" if declarator else text
    if kind == "p":
        gap = " " if canon[1] and declarator and not declarator.startswith("*") else ""
        inner = f"*{' const' if canon[1] else ''}{gap}{declarator}"
        return declare(canon[2], f"({inner})" if canon[2][0] == "f" else inner)
    params = ", ".join(declare(p) for p in canon[2]) or ("" if canon[3] else "void")
    if canon[3]:
        params = f"{params}, ..." if params else "..."
    return declare(canon[1], f"{declarator}({params})")


def _to_json(d: Declared) -> dict[str, Any]:
    return {kind: {n: [x.canon, x.where, x.text] for n, x in table.items()}
            for kind, table in (("functions", d.functions), ("typedefs", d.typedefs))}


def _from_json(headers: tuple[str, ...], data: dict[str, Any]) -> Declared:
    def table(kind: str) -> dict[str, Declaration]:
        return {n: Declaration(c, str(w), str(t)) for n, (c, w, t) in data[kind].items()}

    return Declared(headers, table("functions"), table("typedefs"))
