"""Render a recorded call sequence as a runnable Python script and as a small C program."""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING

from conformance import contract
from conformance.library import cdef_file, header_path

if TYPE_CHECKING:
    from conformance.calls import Caller


def render_python(caller: Caller) -> str:
    lib = os.fspath(caller.library.path)
    head = textwrap.dedent(f"""\
        # --- Python (cffi ABI mode) ---
        from cffi import FFI
        ffi = FFI(); ffi.cdef(open({os.fspath(cdef_file(contract.path()))!r}).read())
        lib = ffi.dlopen({lib!r})
        """)
    return head + "\n".join(caller.trace.py) + "\n"


def render_c(caller: Caller) -> str:
    lib = caller.library.path
    body = "\n".join("    " + line for line in caller.trace.c)
    header = header_path()
    return textwrap.dedent(f"""\
        /* --- C ---  cc -std=c11 -I{header.parent} replay.c {lib} -Wl,-rpath,{lib.parent} -o replay */
        #include <math.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>
        #include "{header.name}"
        int main(void) {{
        """) + body + "\n    return 0;\n}\n"
