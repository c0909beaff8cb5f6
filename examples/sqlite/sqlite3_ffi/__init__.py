"""Python bindings of the system SQLite library, generated from examples/sqlite/spec/sqlite3.yaml.

    db = sqlite3_ffi.open_library().open_v2(":memory:", 6, None)   # READWRITE | CREATE
    with db, db.prepare_v2("SELECT 1") as stmt:
        assert stmt.step() == sqlite3_ffi.ERRORS["ROW"].code

Every failure raises a `SqliteError` subclass (`ErrorError`, `ConstraintError`, ...) carrying
the code, its key, the function and the connection's `sqlite3_errmsg` text.
"""

from sqlite3_ffi._generated import *  # noqa: F403
from sqlite3_ffi._generated import EXCEPTIONS, SqliteError, open_library

__all__ = ["EXCEPTIONS", "SqliteError", "open_library", *EXCEPTIONS]  # noqa: PLE0604
