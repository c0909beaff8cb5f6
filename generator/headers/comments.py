"""Comments and macro lines of a header, read from its raw text by line. The preprocessor
drops comments, so doc comments are matched to declarations here, by position."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from generator.headers.problems import Where


@dataclass(frozen=True)
class Comment:
    file: str
    start: int                          # first line, 1-based
    end: int                            # last line
    lines: tuple[tuple[int, str], ...]  # (line, text without comment markers)
    doxygen: bool                       # `/**`, `/*!`, `///`, `//!`
    standalone: bool                    # nothing but whitespace before it on its first line
    trailing_member: bool = False       # `/**<` or `///<`: documents what precedes it

    @property
    def where(self) -> Where:
        return Where(self.file, self.start)

    @cached_property
    def text(self) -> str:
        return "\n".join(t for _, t in self.lines).strip()

    def line_of(self, needle: str) -> int:
        """The header line on which `needle` first appears (the comment's start otherwise)."""
        low = needle.lower()
        for line, text in self.lines:
            if low in text.lower():
                return line
        return self.start


@dataclass(frozen=True)
class Define:
    name: str
    params: str | None    # "(a, b)" for a function-like macro
    body: str
    line: int
    note: str             # a comment on the same line


_LEXEME = re.compile(r"/\*.*?(?:\*/|\Z)|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?", re.S)
_STRIP_START = re.compile(r"^\s*(?:/\*\*<|/\*!<|/\*\*|/\*!|/\*|///<|//!<|///|//!|//)")
_STRIP_LEAD = re.compile(r"^\s*(?:\*\*?(?!/)|//+!?<?)\s?")
_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)(\([^)]*\))?\s*(.*)$")
_INCLUDE = re.compile(r"^\s*#\s*include\s*<([^>]+)>")
_IFNDEF = re.compile(r"^\s*#\s*ifndef\s+(\w+)")


class RawHeader:
    """One header's raw text: its comments, which lines hold code, its #defines."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.raw_lines = text.split("\n")
        self.comments: list[Comment] = []
        self.code_lines: set[int] = set()
        self._pending: list[tuple[int, str]] = []
        self._scan(text)
        self._by_end = {c.end: c for c in self.comments if c.standalone}
        self._by_start = {c.start: c for c in self.comments if c.standalone}
        self._trailing: dict[int, list[Comment]] = {}
        for c in self.comments:
            if not c.standalone or c.trailing_member:
                self._trailing.setdefault(c.start, []).append(c)

    # ---------------------------------------------------------------- scanning
    def _scan(self, text: str) -> None:
        # Comments and literals in one pass; code is what remains once comments are blanked.
        code = []
        last = 0
        for m in _LEXEME.finditer(text):
            tok = m.group(0)
            if tok[0] in "\"'":
                continue
            code.append(text[last:m.start()])
            code.append(" " + "\n" * tok.count("\n"))  # only which lines hold code matters
            last = m.end()
            self._pending.append((m.start(), tok))
        code.append(text[last:])
        blanked = "".join(code)
        for k, row in enumerate(blanked.split("\n"), start=1):
            if row.strip():
                self.code_lines.add(k)
        # Line numbers of comment starts, by counting newlines incrementally.
        pos, line = 0, 1
        for start, tok in self._pending:
            line += text.count("\n", pos, start)
            pos = start
            col_text = text[text.rfind("\n", 0, start) + 1:start]
            self._add(tok, line, not col_text.strip())
        self._pending.clear()
        # Consecutive `//` lines form one comment.
        merged: list[Comment] = []
        for c in self.comments:
            prev = merged[-1] if merged else None
            if (prev is not None and c.start == prev.end + 1 and c.standalone and prev.standalone
                    and self._is_line_comment(c) and self._is_line_comment(prev)):
                merged[-1] = Comment(self.file, prev.start, c.end, prev.lines + c.lines, prev.doxygen,
                                     True, prev.trailing_member)
            else:
                merged.append(c)
        self.comments = merged

    def _is_line_comment(self, c: Comment) -> bool:
        return self.raw_lines[c.start - 1].lstrip().startswith("//")

    def _add(self, raw: str, line: int, standalone: bool) -> None:
        doxygen = raw.startswith(("/**", "/*!", "///", "//!")) and not raw.startswith("/**/")
        member = raw.startswith(("/**<", "/*!<", "///<", "//!<"))
        body = raw[:-2] if raw.endswith("*/") else raw
        out = []
        for k, text in enumerate(body.split("\n")):
            text = _STRIP_START.sub("", text, count=1) if k == 0 else _STRIP_LEAD.sub("", text, count=1)
            out.append((line + k, text.rstrip()))
        while out and not out[-1][1].strip():
            out.pop()
        while out and not out[0][1].strip():
            out.pop(0)
        if not out:
            return
        self.comments.append(Comment(self.file, line, line + body.count("\n"), tuple(out), doxygen,
                                     standalone, member))

    # ------------------------------------------------------------------ queries
    def _blank(self, line: int) -> bool:
        return 1 <= line <= len(self.raw_lines) and not self.raw_lines[line - 1].strip()

    def _preprocessor(self, line: int) -> bool:
        return 1 <= line <= len(self.raw_lines) and self.raw_lines[line - 1].lstrip().startswith("#")

    def doc_for(self, line: int, end_line: int, name: str) -> Comment | None:
        """The comment documenting a declaration on lines `line`..`end_line`: a doc comment
        right above it; else a comment above or below it that names it (zlib documents each
        function below it); else any comment right above; else, for declarations grouped under
        one comment (SQLite), the first comment above the group, when it names the declaration."""
        above = self._adjacent_above(line)
        if above is not None and (above.doxygen or _names(above, name)):
            return above
        below = self._by_start.get(end_line + 1)
        if below is not None and not below.doxygen and _names(below, name):
            return below
        if above is not None:
            return above
        return self._group_doc(line, name)

    def _adjacent_above(self, line: int) -> Comment | None:
        k = line - 1
        while k > 0 and self._blank(k):
            k -= 1
        c = self._by_end.get(k)
        return c if c is not None and not c.trailing_member else None

    def _group_doc(self, line: int, name: str) -> Comment | None:
        k, steps = line - 1, 0
        while k > 0 and steps < 80:
            c = self._by_end.get(k)
            if c is not None:
                return c if _names(c, name) else None
            if k not in self.code_lines and not self._blank(k) and not self._preprocessor(k):
                return None
            k -= 1
            steps += 1
        return None

    def trailing(self, line: int) -> str:
        """The comment on `line` after code (a parameter's or enumerator's note)."""
        return " ".join(c.text for c in self._trailing.get(line, ()))

    def member_doc(self, line: int) -> str:
        """A `/**< ... */` on this line, or a doc comment right above a member."""
        note = self.trailing(line)
        if note:
            return note
        c = self._by_end.get(line - 1)
        return c.text if c is not None and c.doxygen and not c.trailing_member else ""

    def statement_end(self, line: int) -> int:
        """The line of the first `;` at or after `line` (the end of a declaration)."""
        for k in range(line, min(len(self.raw_lines), line + 80) + 1):
            if ";" in self._code_part(k):
                return k
        return line

    def _code_part(self, line: int) -> str:
        text = self.raw_lines[line - 1]
        return re.sub(r"/\*.*?\*/|//.*$", "", text)

    @cached_property
    def defines(self) -> list[Define]:
        out = []
        k = 0
        while k < len(self.raw_lines):
            start = k
            text = self.raw_lines[k]
            while text.rstrip().endswith("\\") and k + 1 < len(self.raw_lines):
                k += 1
                text = text.rstrip()[:-1] + " " + self.raw_lines[k]
            k += 1
            m = _DEFINE.match(re.sub(r"/\*.*?\*/", " ", text).split("//")[0])
            if m:
                out.append(Define(m.group(1), m.group(2), m.group(3).strip(), start + 1,
                                  self.trailing(start + 1)))
        return out

    @cached_property
    def guard(self) -> str | None:
        for k, text in enumerate(self.raw_lines):
            m = _IFNDEF.match(text)
            if m:
                nxt = next((t for t in self.raw_lines[k + 1:k + 3] if t.strip()), "")
                d = _DEFINE.match(nxt)
                return m.group(1) if d and d.group(1) == m.group(1) else None
            if k in self.code_lines or (k + 1) in self.code_lines:
                return None
        return None

    @cached_property
    def includes(self) -> tuple[str, ...]:
        return tuple(m.group(1) for t in self.raw_lines if (m := _INCLUDE.match(t)))

    @cached_property
    def file_doc(self) -> Comment | None:
        """The header's leading comment: an `@file` block, else the first comment before code."""
        for c in self.comments:
            if "@file" in c.text or "\\file" in c.text:
                return c
        first = self.comments[0] if self.comments else None
        if first is not None and first.standalone and not any(k < first.start for k in self.code_lines):
            return first
        return None

    @cached_property
    def sections(self) -> tuple[Comment, ...]:
        """Section banners (`/* ==== Title ==== */`) and `@defgroup` blocks."""
        return tuple(c for c in self.comments if c.standalone and
                     ("@defgroup" in c.text or (len(c.lines) <= 2 and _BANNER.match(c.text.splitlines()[0]))))


# `==== Title ====`, `---- Title: doc ----`: a title between runs of rule characters.
_BANNER = re.compile(r"^\s*[=\-#*]{3,}\s*[A-Za-z][^=]*?[=\-#*]{3,}\s*$")


def _names(c: Comment, name: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", c.text) is not None
