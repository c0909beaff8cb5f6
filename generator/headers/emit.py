"""Write a draft spec as YAML with its provenance as comments above each field, so a reviewer
reads every guess next to the header line and the words it came from."""

from __future__ import annotations

import json
import re
from typing import Any

from generator import escape
from generator.headers.infer_base import Draft

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./+-]*$")
_UNSAFE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")
_RESERVED = re.compile(r"^(?:true|false|yes|no|on|off|null|y|n|~)$", re.I)


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and not _RESERVED.match(text):
        return text
    # JSON strings are YAML double-quoted scalars, once the characters YAML breaks lines at
    # (NEL, LS, PS) or refuses in a stream (controls, DEL, surrogates) are escaped too.
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(text, ensure_ascii=False))


def to_yaml(draft: Draft, header_lines: list[str]) -> str:
    out = [f"# {escape.py_comment(line)}" if line else "#" for line in header_lines]
    _mapping(draft.data, (), 0, draft, out)
    return "\n".join(out) + "\n"


def _comments(path: tuple[str | int, ...], indent: int, draft: Draft, out: list[str]) -> None:
    for text in draft.prov.get(path, []):
        out.append(" " * indent + "# " + escape.py_comment(text))


def _mapping(data: dict[str, Any], path: tuple[str | int, ...], indent: int, draft: Draft, out: list[str],
             first_prefix: str | None = None) -> None:
    pad = " " * indent
    for k, (key, value) in enumerate(data.items()):
        p = (*path, key)
        lead = first_prefix if (k == 0 and first_prefix is not None) else pad
        if k > 0 or first_prefix is None:
            _comments(p, indent, draft, out)
        if isinstance(value, dict) and value:
            out.append(f"{lead}{key}:")
            _mapping(value, p, indent + 2, draft, out)
        elif isinstance(value, list) and value and all(not isinstance(v, (dict, list)) for v in value):
            out.append(f"{lead}{key}: [{', '.join(scalar(v) for v in value)}]")
        elif isinstance(value, list) and value:
            out.append(f"{lead}{key}:")
            _sequence(value, p, indent + 2, draft, out)
        elif isinstance(value, (dict, list)):
            out.append(f"{lead}{key}: {'{}' if isinstance(value, dict) else '[]'}")
        else:
            out.append(f"{lead}{key}: {scalar(value)}")


def _sequence(items: list[Any], path: tuple[str | int, ...], indent: int, draft: Draft, out: list[str]) -> None:
    pad = " " * indent
    for i, item in enumerate(items):
        p = (*path, i)
        _comments(p, indent, draft, out)
        if isinstance(item, dict) and item:
            first = next(iter(item))
            _comments((*p, first), indent, draft, out)
            _mapping(item, p, indent + 2, draft, out, first_prefix=pad + "- ")
        else:
            out.append(f"{pad}- {scalar(item)}")
