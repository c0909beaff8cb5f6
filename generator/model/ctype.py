"""C types as the spec language writes them: parsing, canonical spellings of multi-word
integers, the limits of each integer type, and what a type means for the bindings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache


def _bits(signed: bool, bits: int) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


# The integer types of the spec language with their limits on the ABIs the toolkit targets
# (LP64: long is 64 bits). Multi-word spellings are canonicalised by CType.parse.
_C_INT_LIMITS: dict[str, tuple[int, int]] = {
    "int": _bits(True, 32), "signed int": _bits(True, 32), "unsigned int": _bits(False, 32),
    "short": _bits(True, 16), "unsigned short": _bits(False, 16),
    "long": _bits(True, 64), "unsigned long": _bits(False, 64),
    "long long": _bits(True, 64), "unsigned long long": _bits(False, 64),
    "signed char": _bits(True, 8), "unsigned char": _bits(False, 8),
    **{f"int{n}_t": _bits(True, n) for n in (8, 16, 32, 64)},
    **{f"uint{n}_t": _bits(False, n) for n in (8, 16, 32, 64)},
    "intptr_t": _bits(True, 64), "uintptr_t": _bits(False, 64),
    "size_t": _bits(False, 64), "ptrdiff_t": _bits(True, 64), "ssize_t": _bits(True, 64),
}
FLOAT_TYPES = frozenset({"float", "double", "long double"})
SCALAR_TYPES = frozenset({*_C_INT_LIMITS, *FLOAT_TYPES, "bool", "char", "void"})

# Which standard header declares a type the spec uses; the header's includes derive from it.
STANDARD_HEADERS: dict[str, str] = {
    "bool": "stdbool.h", "size_t": "stddef.h", "ptrdiff_t": "stddef.h",
    "intptr_t": "stdint.h", "uintptr_t": "stdint.h", "ssize_t": "sys/types.h",
    **{f"{u}int{n}_t": "stdint.h" for u in ("", "u") for n in (8, 16, 32, 64)},
}
_TYPE_WORDS = frozenset({"unsigned", "signed", "long", "short", "int", "char", "double"})
_TOKEN_RE = re.compile(r"\*|[A-Za-z_][A-Za-z0-9_]*|\S")


def canonical_base(words: list[str]) -> str:
    """`long unsigned int long` -> `unsigned long long`; `unsigned` -> `unsigned int`;
    ValueError when the words mix a type name with integer words."""
    if len(words) == 1 and words[0] not in ("unsigned", "signed", "long", "short"):
        return words[0]
    if any(w not in _TYPE_WORDS for w in words):
        raise ValueError(f"{' '.join(words)!r} mixes a type name with other words")
    sign = "unsigned " if "unsigned" in words else ("signed " if "signed" in words and "char" in words else "")
    longs = words.count("long")
    if "char" in words:
        return f"{sign}char" if sign else "char"
    if "double" in words:
        return "long double" if longs else "double"
    if "short" in words:
        return f"{sign}short"
    if longs:
        return f"{sign}{'long ' * longs}".strip()
    return f"{sign}int"


@dataclass(frozen=True)
class CType:
    """A C type as real ABIs spell them: a base type (one or more words: `unsigned long
    long`, `uint64_t`, a handle, a spec-declared type), `const` on the base, and any number of
    pointer levels, each of which may itself be `const` (`const char* const*`). Function
    pointer types are named through `types:` entries of kind `callback`."""

    base: str
    const: bool = False
    pointer: bool = False
    levels: tuple[bool, ...] = ()  # one entry per `*`, True where that pointer is const
    scalar: str = ""  # the scalar a `types:` alias names (`sqlite3_int64` -> `long long`)

    @classmethod
    def parse(cls, text: str) -> CType:
        """The type `text` spells; ValueError (saying why) if the spec language has no such
        type. A spec writes a few dozen types thousands of times: each text is parsed once."""
        return _parse(text)

    def __post_init__(self) -> None:
        # CType(base, const, pointer=True) built by hand means one plain pointer level.
        if self.pointer and not self.levels:
            object.__setattr__(self, "levels", (False,))

    @property
    def depth(self) -> int:
        """Number of pointer levels: 0 for `int`, 1 for `sqlite3*`, 2 for `sqlite3**`."""
        return len(self.levels)

    @cached_property
    def c(self) -> str:
        """The type as C source (`const char* const*`); computed once per type: parsed types are
        shared, and renderers ask for it tens of thousands of times."""
        stars = "".join("* const" if c else "*" for c in self.levels)
        text = f"{'const ' if self.const else ''}{self.base}{stars}"
        return text

    @property
    def pointee(self) -> CType:
        """The type one pointer level down (`sqlite3**` -> `sqlite3*`)."""
        if not self.levels:
            raise ValueError(f"{self.c} is not a pointer")
        levels = self.levels[:-1]
        return CType(self.base, self.const, bool(levels), levels, self.scalar)

    def decl(self, name: str) -> str:
        """`int* error_code`, `const char* prompt`, `float temperature`."""
        return f"{self.c} {name}"

    @property
    def is_void(self) -> bool:
        return self.base == "void" and not self.pointer

    @property
    def is_void_pointer(self) -> bool:
        return self.base == "void" and self.depth == 1

    @property
    def is_string(self) -> bool:
        """NUL-terminated text read by the callee (`const char*`, `const unsigned char*`)."""
        return self.base in ("char", "unsigned char") and self.depth == 1 and self.const

    @property
    def is_char_buffer(self) -> bool:
        return self.base == "char" and self.depth == 1 and not self.const

    @property
    def _scalar(self) -> str:
        return self.scalar or self.base

    @property
    def is_integer(self) -> bool:
        return not self.pointer and self._scalar in _C_INT_LIMITS

    @property
    def is_float(self) -> bool:
        return not self.pointer and self._scalar in FLOAT_TYPES

    @property
    def is_bool(self) -> bool:
        return not self.pointer and self._scalar == "bool"

    @property
    def is_scalar_base(self) -> bool:
        return self._scalar in SCALAR_TYPES

    @property
    def int_limits(self) -> tuple[int, int] | None:
        return _C_INT_LIMITS.get(self._scalar) if not self.pointer else None

    @property
    def standard_header(self) -> str | None:
        """The standard header that declares the base type, if any (`stdint.h`)."""
        return STANDARD_HEADERS.get(self.base)

    @property
    def python_type(self) -> str:
        """The Python annotation of a value of this type crossing the bindings."""
        if self.is_string:
            return "str"
        if self.is_void:
            return "None"
        if self.is_bool:
            return "bool"
        if self.is_float:
            return "float"
        if self.is_void_pointer:
            return "bytes"
        return "int"


@lru_cache(maxsize=4096)
def _parse(text: str) -> CType:
    tokens = _TOKEN_RE.findall(text.strip())
    const = False
    words: list[str] = []
    i = 0
    while i < len(tokens) and tokens[i] != "*":
        tok = tokens[i]
        if tok == "const":
            if const:
                raise ValueError(f"not a C type of the spec language: {text!r} (const twice)")
            const = True
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok) and tok not in ("volatile", "struct"):
            words.append(tok)
        else:
            raise ValueError(f"not a C type of the spec language: {text!r} "
                             f"(unexpected {tok!r}; name function pointer types in `types:`)")
        i += 1
    levels: list[bool] = []
    for tok in tokens[i:]:
        if tok == "*":
            levels.append(False)
        elif tok == "const" and levels and not levels[-1]:
            levels[-1] = True
        else:
            raise ValueError(f"not a C type of the spec language: {text!r} (unexpected "
                             f"{tok!r} after a pointer)")
    if not words:
        raise ValueError(f"not a C type of the spec language: {text!r} (no base type)")
    try:
        base = canonical_base(words)
    except ValueError as exc:
        raise ValueError(f"not a C type of the spec language: {text!r} ({exc})") from None
    return CType(base=base, const=const, pointer=bool(levels), levels=tuple(levels))
