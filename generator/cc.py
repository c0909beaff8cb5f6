"""The system C compiler as a reader of headers: which one to run, and the command-line
defines that let pycparser (standard C only) read what its preprocessor gives."""

from __future__ import annotations

import os
import shutil

# Extensions that mean nothing to an ABI description; each is removed by a -D define.
GNU_DEFINES = (
    "__attribute__(x)=", "__extension__=", "__restrict=", "__restrict__=", "__inline=",
    "__inline__=", "__asm__(x)=", "__asm(x)=", "__volatile__=", "__THROW=", "__wur=",
    "__int128=long long", "_Float128=long double", "__float128=long double",
    "_Noreturn=", "__declspec(x)=",
)
# `__builtin_va_list` is known to the compiler without a declaration; pycparser needs one.
BUILTIN_TYPES = "typedef void *__builtin_va_list;\n"


def find_compiler() -> str | None:
    """The C compiler: $CC, else cc, gcc or clang from PATH; None when there is none."""
    cc = os.environ.get("CC")
    if cc:
        return cc
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return name
    return None
