"""Text that lands in Rust source: doc comments, string literals, identifiers. Every spec
text passes through one of these before a Rust template prints it."""

from __future__ import annotations

import re
from functools import lru_cache

# Rust's strict and reserved keywords; `self`, `Self`, `super` and `crate` cannot be raw
# identifiers, so those get a trailing underscore instead of `r#`.
_RUST_KEYWORDS = frozenset(
    "as break const continue crate else enum extern false fn for if impl in let loop match mod "
    "move mut pub ref return self Self static struct super trait true type unsafe use where while "
    "async await dyn abstract become box do final macro override priv typeof unsized virtual "
    "yield try gen".split())
_NOT_RAW = frozenset({"self", "Self", "super", "crate"})

_MARKDOWN_BLOCK = re.compile(r"^([#>|=+*-]|\d+[.)])(\s|$)")


def ident(name: str) -> str:
    """A spec name as a Rust identifier (keywords escaped)."""
    if name in _NOT_RAW:
        return name + "_"
    return f"r#{name}" if name in _RUST_KEYWORDS else name


_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


@lru_cache(maxsize=8192)
def snake(name: str) -> str:
    """`zSql` / `iCol` / `ppDb` -> `z_sql` / `i_col` / `pp_db`; already snake names stay."""
    return ident(_HUMP.sub(r"_\1", name).lower())


@lru_cache(maxsize=8192)
def camel(name: str) -> str:
    """`VRAM_OOM` / `max_tokens` -> `VramOom` / `MaxTokens`."""
    return "".join(part[:1].upper() + part[1:].lower() for part in name.split("_") if part)


@lru_cache(maxsize=4096)
def doc_lines(text: str, prefix: str = "/// ", hang: str = "", width: int = 96) -> str:
    """Text as Rust doc-comment lines. Whitespace (every line break included) collapses to one
    space, so no line starts with indentation or a fence; backtick runs that could open a code
    block (and so a doctest) are broken up; control characters are written as escapes; a
    wrapped line never starts with a Markdown block marker (`#`, `-`, `1.`, `>`, ...), which
    would turn prose into a heading or a list. `hang` indents continuation lines (list items)."""
    text = " ".join(str(text).split())
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"\\u{{{ord(c):x}}}" for c in text)
    while "```" in text:
        text = text.replace("```", "`\u200b``")
    if not text:
        return prefix.rstrip()
    lines = _wrap_words(text.split(" "), width - len(prefix) - len(hang))
    for i in range(len(lines) - 1, 0, -1):
        while lines[i] and _MARKDOWN_BLOCK.match(lines[i]):
            head, _, rest = lines[i].partition(" ")
            lines[i - 1] += " " + head
            lines[i] = rest
    lines = [line for line in lines if line]
    match = _MARKDOWN_BLOCK.match(lines[0])
    if match and not hang:  # a list item of our own templates passes a hang
        cut = match.end(1) - 1
        lines[0] = lines[0][:cut] + "\\" + lines[0][cut:]
    return "\n".join((prefix + (hang if i else "") + line).rstrip()
                     for i, line in enumerate(lines))


def _wrap_words(words: list[str], width: int) -> list[str]:
    """Greedy wrap of single-space-separated words; a word longer than `width` stays whole."""
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def string_literal(text: str) -> str:
    """A Rust string literal holding exactly `text`."""
    out = []
    for c in str(text):
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif not c.isprintable():
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


