"""Every text of a spec reaches generated code through one of these filters, one per target
language, so a doc string cannot end a comment, close a string or start a statement.

Free text (docs, messages, titles) may hold any character the lints accept; identifiers never
come through here (the schema and the lints restrict them to what every language accepts).
The filters are registered as Jinja filters by `generator.render`; each is also usable alone.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata

from generator.rust import text as _rust_text

# Characters that are not text: C0/C1 controls and DEL (category Cc), lone surrogates (Cs),
# the line and paragraph separators some languages treat as line breaks, the byte-order mark,
# and the bidirectional controls that make source read differently from how it compiles
# ("Trojan Source"; GCC's -Wbidi-chars).
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\ufeff"
                        "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _code_point(ch: str) -> str:
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def visible(text: object) -> str:
    """One line of text: whitespace runs (newlines included) become one space, and every
    other control character is shown as a `\\xNN` escape instead of being emitted raw. None
    (an absent optional text) is empty."""
    line = "" if text is None else " ".join(str(text).split())
    return _INVISIBLE.sub(lambda m: _code_point(m.group()), line)


# ----------------------------------------------------------------------- C and C++

_TRIGRAPH_START = re.compile(r"\?(?=\?)")  # a `?` followed by another


def c_comment(text: object) -> str:
    """Text inside a C or C++ block comment (`/* */`, Doxygen `/** */`): one line, no comment
    terminator, no nested opener (-Wcomment), no trigraph (`??/` at a line end is one)."""
    line = visible(text).replace("*/", "*\\/").replace("/*", "/\\*")
    return _TRIGRAPH_START.sub("? ", line) if "??" in line else line


def c_doc(text: object, width: int = 92, prefix: str = " * ") -> str:
    """`c_comment` text wrapped into the lines of a block comment."""
    return "\n".join(_wrap(c_comment(text), width, prefix))


# Text `_wrap` leaves to textwrap: whitespace other than single spaces between words.
_NOT_SINGLE_SPACED = re.compile(r"[\t\n\x0b\x0c\r]|  |^ | $")


def _wrap(text: str, width: int, prefix: str) -> list[str]:
    """textwrap.wrap(text, width, initial_indent=prefix, subsequent_indent=prefix,
    break_long_words=False, break_on_hyphens=False). For one line of words separated by single
    spaces (what `visible` makes) that is a greedy fill, done here without textwrap's chunking,
    which costs most of the time of rendering the doc comments of a large spec."""
    if _NOT_SINGLE_SPACED.search(text):
        return textwrap.wrap(text, width, initial_indent=prefix, subsequent_indent=prefix,
                             break_long_words=False, break_on_hyphens=False)
    if not text:
        return []
    room = width - len(prefix)
    lines = []
    line = ""
    for word in text.split(" "):
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= room:
            line += " " + word
        else:
            lines.append(prefix + line)
            line = word
    lines.append(prefix + line)
    return lines


_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Every character a string-literal filter below does not copy as it is: the escapes of its
# table, control characters and lone surrogates (categories Cc and Cs), and _INVISIBLE.
# Text without any (most text) is quoted as it is.
_LITERAL_SPECIAL = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\ufeff'
                              "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_C_LITERAL_SPECIAL = re.compile(_LITERAL_SPECIAL.pattern[:-1] + "?]")


def c_string(text: object) -> str:
    """A C (and C++) string literal, quotes included: backslash, quote and `??` (trigraphs)
    escaped, control characters as three-digit octal escapes, other characters as UTF-8."""
    text = str(text)
    if not _C_LITERAL_SPECIAL.search(text):
        return '"' + text + '"'
    out = []
    for i, ch in enumerate(text):
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ch == "?" and "?" in (text[i - 1:i], text[i + 1:i + 2]):
            out.append("\\?")  # phase 1 replaces trigraphs before escapes are read
        elif unicodedata.category(ch) in ("Cc", "Cs") or _INVISIBLE.match(ch):
            out.append("".join(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


cpp_string = c_string  # C++ string literals have the same escapes


# -------------------------------------------------------------------------------- Python

_PY_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def py_string(text: object) -> str:
    """A double-quoted Python string literal: backslash, quote and invisible characters
    escaped, other characters (any plane) as they are."""
    text = str(text)
    if not _LITERAL_SPECIAL.search(text):
        return '"' + text + '"'
    out = []
    for ch in text:
        if ch in _PY_ESCAPES:
            out.append(_PY_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Cc", "Cs") or _INVISIBLE.match(ch):
            out.append(_code_point(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def py_comment(text: object) -> str:
    """Text after `#`: one line (a newline would end the comment and start code)."""
    return visible(text)


def py_docstring(text: object) -> str:
    """Text inside a triple-quoted docstring: one line, backslashes and quotes escaped so it
    cannot end the docstring or form an escape sequence."""
    # A quote is escaped where it could join others into a closing `"""`: before another
    # quote, and at the end (the docstring's own closing quotes may follow).
    return re.sub(r'"(?="|$)', '\\\\"', visible(text).replace("\\", "\\\\"))


def py_doc(text: object, width: int = 88, prefix: str = "") -> str:
    """`py_docstring` text wrapped to `width` with `prefix` (the indentation)."""
    return "\n".join(_wrap(py_docstring(text), width, prefix))


# ------------------------------------------------------------------------- Rust

# The Rust bindings' own text rules (Markdown block markers, doctest fences, raw identifiers)
# live with them; they are the Rust filters of this module.
rust_doc = _rust_text.doc_lines
rust_string = _rust_text.string_literal


# ------------------------------------------------------------------- Markdown and JSON

_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")


def md(text: object) -> str:
    """Inline Markdown text (a table cell, a list item, a paragraph): one line, `|` escaped,
    and no raw HTML (`<!--` would hide the rest of the document)."""
    return _HTML_START.sub("&lt;", visible(text).replace("|", "\\|"))


def toml_string(text: object) -> str:
    """A TOML basic string, quotes included: backslash, quote and invisible characters
    escaped (TOML, unlike JSON, has no surrogate escapes: other characters stay UTF-8)."""
    text = str(text)
    if not _LITERAL_SPECIAL.search(text):
        return '"' + text + '"'
    out = []
    for ch in text:
        if ch in _PY_ESCAPES:
            out.append(_PY_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Cc", "Cs") or _INVISIBLE.match(ch):
            out.append(f"\\u{ord(ch):04x}" if unicodedata.category(ch) != "Cs" else "\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def json_string(text: object) -> str:
    """A JSON string, quotes included (ASCII only; not a Python literal: JSON writes a
    character outside the BMP as two surrogate escapes)."""
    return json.dumps(str(text), ensure_ascii=True)


# No generic "wrap": every template names the language its text lands in.
FILTERS = {
    "visible": visible,
    "c_comment": c_comment, "c_doc": c_doc, "c_string": c_string, "cpp_string": cpp_string,
    "py_string": py_string, "py_comment": py_comment, "py_docstring": py_docstring,
    "py_doc": py_doc, "rust_str": rust_string, "rust_doc": rust_doc,
    "md": md, "json_string": json_string, "toml_string": toml_string,
}
