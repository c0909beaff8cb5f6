"""What a set of headers declares, as plain frozen records with their locations. Produced by
`declarations.read_headers`; read by `infer` and `audit`."""

from __future__ import annotations

from dataclasses import dataclass

from generator.headers.comments import Comment
from generator.headers.problems import Where


@dataclass(frozen=True)
class CParam:
    name: str            # "" when the prototype leaves it unnamed
    ctype: str           # canonical spelling: `const char*`, `sqlite3**`, `unsigned int`
    where: Where
    note: str = ""       # the comment on the parameter's own line (`/* OUT: handle */`)
    callback: bool = False  # a pointer to a function


@dataclass(frozen=True)
class CFunction:
    name: str
    returns: str
    params: tuple[CParam, ...]
    where: Where
    doc: Comment | None = None
    api_macro: str | None = None
    deprecated: str | None = None   # the deprecation message of an attribute macro, if any

    @property
    def signature(self) -> str:
        params = ", ".join(p.ctype for p in self.params) or "void"
        return f"{self.returns} {self.name}({params})"

    @property
    def type_key(self) -> tuple[str, ...]:
        return (self.returns, *(p.ctype for p in self.params))


@dataclass(frozen=True)
class CEnumerator:
    name: str
    value: int
    where: Where
    note: str = ""       # trailing `/**< ... */` or `// ...` comment


@dataclass(frozen=True)
class CEnum:
    name: str            # the typedef name, else the tag, else ""
    tag: str
    enumerators: tuple[CEnumerator, ...]
    where: Where
    doc: Comment | None = None


@dataclass(frozen=True)
class COpaque:
    """`typedef struct X X;` whose struct is never defined in the headers: a handle candidate."""

    name: str
    tag: str
    where: Where
    doc: Comment | None = None


@dataclass(frozen=True)
class CConstant:
    name: str
    value: int | str     # an integer, or the text of a string literal
    where: Where
    note: str = ""


@dataclass(frozen=True)
class Skipped:
    """A construct the spec language cannot state (yet): listed, never silently dropped."""

    kind: str            # "variadic function", "bit-field", "function-like macro", ...
    name: str
    where: Where
    reason: str


@dataclass(frozen=True)
class HeaderSet:
    headers: tuple[str, ...]
    functions: tuple[CFunction, ...]
    enums: tuple[CEnum, ...]
    opaques: tuple[COpaque, ...]
    constants: tuple[CConstant, ...]
    typedefs: dict[str, str]             # name -> canonical target spelling
    skipped: tuple[Skipped, ...]
    file_docs: dict[str, Comment]        # each user header's leading comment
    sections: tuple[Comment, ...]        # section banners and @defgroup blocks, in order
    guards: dict[str, str]               # header -> include guard
    includes: dict[str, tuple[str, ...]]  # header -> `<...>` includes
    comments: tuple[Comment, ...] = ()   # every standalone doc comment of the user's headers
