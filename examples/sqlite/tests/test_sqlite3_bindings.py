"""The Python bindings generated from the SQLite spec run real SQL against the system
libsqlite3: results, typed exceptions carrying the connection's sqlite3_errmsg, checked rules
answered by the library, preconditions refused before the call, handle lifetimes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite3_ffi
from sqlite3_ffi import _generated as gen

from ffispec_runtime import HandleClosedError, PreconditionError

READWRITE_CREATE = 0x2 | 0x4
ROW, DONE = gen.ERRORS["ROW"].code, gen.ERRORS["DONE"].code


@pytest.fixture(scope="module")
def lib() -> gen.Library:
    return sqlite3_ffi.open_library()


@pytest.fixture
def db(lib: gen.Library) -> Iterator[gen.Connection]:
    with lib.open_v2(":memory:", READWRITE_CREATE, None) as conn:
        yield conn


def run(db: gen.Connection, sql: str) -> int:
    with db.prepare_v2(sql) as stmt:
        return stmt.step()


def test_library_queries(lib: gen.Library) -> None:
    version = lib.libversion()
    assert version.count(".") == 2 and version.split(".")[0] == "3"
    assert lib.threadsafe() in (gen.Threadsafe.SINGLE_THREAD, gen.Threadsafe.SERIALIZED,
                                gen.Threadsafe.MULTI_THREAD)


def test_real_sql_round_trip(db: gen.Connection) -> None:
    assert run(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL, d)") == DONE
    with db.prepare_v2("INSERT INTO t(a, b, c, d) VALUES (?, ?, ?, ?)") as ins:
        for a, b, c in [(1, "héllo", 2.5), (2**62, "x\u00e9\u4e2d", -0.125)]:
            ins.bind_int64(1, a)
            ins.bind_text(2, b)
            ins.bind_double(3, c)
            ins.bind_null(4)
            assert ins.step() == DONE
            assert db.changes() == 1
            ins.reset()
    rows = []
    with db.prepare_v2("SELECT a, b, c, d FROM t ORDER BY a") as q:
        assert q.column_count() == 4
        while q.step() == ROW:
            types = [q.column_type(i) for i in range(4)]
            assert types == [gen.ColumnType.INTEGER, gen.ColumnType.TEXT, gen.ColumnType.FLOAT,
                             gen.ColumnType.NULL]
            text = q.column_text(1)
            assert text is not None and q.column_bytes(1) == len(text.encode())
            rows.append((q.column_int64(0), text, q.column_double(2), q.column_text(3)))
    assert rows == [(1, "héllo", 2.5, None), (2**62, "x\u00e9\u4e2d", -0.125, None)]
    assert run(db, "UPDATE t SET c = 0") == DONE and db.changes() == 2


def test_failures_raise_typed_exceptions_with_errmsg(db: gen.Connection) -> None:
    with pytest.raises(gen.ErrorError) as syntax:
        db.prepare_v2("SELEC 1")
    err = syntax.value
    assert (err.code, err.key, err.function) == (1, "ERROR", "sqlite3_prepare_v2")
    assert err.detail == 'near "SELEC": syntax error' == db.errmsg()
    assert isinstance(err, sqlite3_ffi.SqliteError)
    run(db, "CREATE TABLE u(a INTEGER PRIMARY KEY)")
    run(db, "INSERT INTO u VALUES (1)")
    with db.prepare_v2("INSERT INTO u VALUES (1)") as dup:
        with pytest.raises(gen.ConstraintError) as constraint:
            dup.step()
    assert constraint.value.code == 19 and db.errcode() == 19
    assert constraint.value.detail == "UNIQUE constraint failed: u.a"
    assert db.extended_errcode() & 0xFF == 19 and db.extended_errcode() != 19


def test_open_failure_reads_the_failed_connection_then_closes_it(lib: gen.Library, tmp_path: Path) -> None:
    with pytest.raises(gen.CantopenError) as info:
        lib.open_v2(str(tmp_path / "missing" / "x.db"), 0x2, None)
    assert info.value.detail == "unable to open database file"
    with lib.open_v2(str(tmp_path / "ok.db"), READWRITE_CREATE, None) as conn:
        assert run(conn, "CREATE TABLE t(a)") == DONE
    assert (tmp_path / "ok.db").stat().st_size > 0


def test_checked_rule_is_answered_by_the_library(db: gen.Connection) -> None:
    """`index` is a checked rule (min 1, else RANGE): index 0 reaches the library, which
    reports the declared code."""
    with db.prepare_v2("SELECT ?") as stmt:
        with pytest.raises(gen.RangeError) as info:
            stmt.bind_int64(0, 1)
        assert info.value.code == 25 and info.value.function == "sqlite3_bind_int64"
        with pytest.raises(gen.RangeError):
            stmt.bind_null(2)


def test_precondition_is_refused_before_the_call(db: gen.Connection) -> None:
    with db.prepare_v2("SELECT 1") as stmt:
        assert stmt.step() == ROW
        with pytest.raises(PreconditionError, match="undefined behaviour"):
            stmt.column_int64(-1)
        assert stmt.column_int64(0) == 1


def test_a_text_without_statement_gives_none(db: gen.Connection) -> None:
    assert db.prepare_v2("-- only a comment") is None
    assert db.prepare_v2("") is None


def test_closing_the_connection_closes_its_statements(lib: gen.Library) -> None:
    conn = lib.open_v2(":memory:", READWRITE_CREATE, None)
    stmt = conn.prepare_v2("SELECT 1")
    assert stmt is not None
    conn.close()
    assert stmt.closed and conn.closed
    with pytest.raises(HandleClosedError):
        stmt.step()
    conn.close()  # idempotent


def test_codes_outside_a_functions_set_are_contract_violations(lib: gen.Library) -> None:
    assert sqlite3_ffi.exception_class(19) is gen.ConstraintError
    assert gen.error_for(101).key == "DONE" and gen.error_for(12345).key == "UNRECOGNIZED"
    with pytest.raises(gen.ContractViolationError):  # bind_int64 cannot report CONSTRAINT
        lib._fail("sqlite3_bind_int64", 19, "")
    # Success codes raise nothing and have no exception class.
    assert "ROW" not in sqlite3_ffi.EXCEPTIONS and "OK" not in sqlite3_ffi.EXCEPTIONS
