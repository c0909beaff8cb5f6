"""C types and the types a spec declares (`types:`), as the model holds them; a type the parser
refuses is reported with where it is written."""

from __future__ import annotations

import contextvars
from dataclasses import replace
from typing import Any

from generator.loader import RawSpec
from generator.model import AllowedValue, CType, TypeDecl, TypeField
from generator.problems import Path


def type_decl(raw: RawSpec, d: dict[str, Any], path: Path) -> TypeDecl:
    return TypeDecl(
        name=d["name"], kind=d["kind"], doc=d["doc"], location=raw.where(path),
        header=d.get("header"),
        values=tuple(AllowedValue(v["value"], v["name"], v.get("doc", "")) for v in d.get("values", [])),
        fields=tuple(TypeField(f["name"], parse_ctype(raw, f["type"], (*path, "fields", i, "type")),
                               f["doc"]) for i, f in enumerate(d.get("fields", []))),
        returns=parse_ctype(raw, d["returns"], (*path, "returns")) if "returns" in d else None,
        params=tuple(parse_ctype(raw, t, (*path, "params", i)) for i, t in enumerate(d.get("params", []))),
        constants=tuple(AllowedValue(v["value"], v["name"], v.get("doc", ""))
                        for v in d.get("constants", [])),
        struct_tag=d.get("struct_tag", ""),
        aliased=parse_ctype(raw, d["type"], (*path, "type")) if "type" in d else None,
    )


class TypeSyntaxError(ValueError):
    """A C type the parser refuses, with where it is written."""

    def __init__(self, message: str, location: Any, path: Path) -> None:
        super().__init__(message)
        self.location = location
        self.path = path


# Scalar aliases declared in `types:` (sqlite3_int64 -> long long), for the spec being built.
ALIASES: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("aliases",
                                                                                default=None)


def parse_ctype(raw: RawSpec, text: str, path: Path) -> CType:
    try:
        ctype = CType.parse(text)
    except ValueError as exc:
        raise TypeSyntaxError(str(exc), raw.where(path), path) from None
    scalar = (ALIASES.get() or {}).get(ctype.base)
    return replace(ctype, scalar=scalar) if scalar else ctype
