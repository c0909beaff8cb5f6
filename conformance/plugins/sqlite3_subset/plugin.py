"""SqlitePlugin: valid values examples/sqlite/spec/sqlite3.yaml cannot state as rules.

An in-memory database, open flags, and a statement with two parameters (so bind indexes 1 and
2 are valid and 3 is SQLITE_RANGE), and the system library as the default. Everything else
the suite derives from the spec."""

from __future__ import annotations

import ctypes.util
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from conformance.plugin import NotProvided, Plugin

SQL = b"SELECT ?1 + 1, ?2, 'text'"
PARAMETERS = 2  # the ?N of SQL
OPEN_READWRITE_CREATE = 0x2 | 0x4


def memory_used() -> int:
    """Bytes SQLite holds, from the system library loaded in this process (the same library
    instance a wrapper forwards to)."""
    global _MEM
    if _MEM is None:
        from cffi import FFI

        ffi = FFI()
        ffi.cdef("long long sqlite3_memory_used(void);")
        _MEM = ffi.dlopen("libsqlite3.so.0")
    return int(_MEM.sqlite3_memory_used())


_MEM = None


class SqlitePlugin(Plugin):
    test_modules = ("conformance.plugins.sqlite3_subset.test_statements",)
    def default_library(self, backend: str) -> Path | None:
        name = ctypes.util.find_library("sqlite3")
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
            for candidate in (Path(d) / "libsqlite3.so.0", Path(d) / (name or "libsqlite3.so")):
                if candidate.is_file():
                    return candidate
        return None

    def valid(self, fn, param, world) -> Any:
        if param.name == "filename":
            return b":memory:"
        if param.name == "flags":
            return OPEN_READWRITE_CREATE
        if param.name == "zSql":
            return SQL
        if param.name == "text":
            return b"hello"
        if param.name == "index":
            return 1
        if param.name == "iCol":
            return 0
        raise NotProvided

    def strategy(self, fn, param, world, caller) -> Any:
        if param.name == "index":  # valid indexes are those of the statement's parameters
            return st.integers(1, PARAMETERS)
        return None


    def rules(self, book) -> None:
        fn = self.spec.function
        add, key = book.add, book.key_location
        add("SEM-row-values", fn("sqlite3_column_int64").location,
            "a row holds the bound values, converted as the column functions say")
        add("SEM-step-rows", key(fn("sqlite3_step").location, "returns"),
            "step gives ROW for each row, then DONE; reset runs the statement again")
        add("SEM-errmsg", fn("sqlite3_errmsg").location,
            "after a failure errmsg describes it")
        add("SEM-finalize-frees", fn("sqlite3_finalize").location,
            "finalize deletes the statement and frees what it held")
        add("SEM-close-deferred", fn("sqlite3_close_v2").location,
            "close_v2 with unfinalized statements returns OK and defers: the statements stay "
            "valid until finalized, then the connection is freed")
