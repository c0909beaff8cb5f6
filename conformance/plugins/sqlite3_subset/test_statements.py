"""SQLite semantics the spec states in prose: a statement's rows hold what was bound, step ends
with DONE, reset runs it again, a failed prepare leaves no statement, a failed open still gives
a connection to close, finalize frees what the statement held, and closing a connection whose
statements are still live defers until they are finalized (no cascade, no refusal)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.calls import Caller, HandleRef
from conformance.plugins.sqlite3_subset.plugin import OPEN_READWRITE_CREATE, SQL, memory_used
from conformance.world import World

pytestmark = [pytest.mark.isolated]
INTEGER, TEXT = 1, 3


def _prepare(caller: Caller, db: HandleRef, sql: bytes = SQL):
    o = caller.call("sqlite3_prepare_v2", db=db, zSql=sql)
    return o


@given(a=st.integers(-(2**62), 2**62), t=st.text(max_size=40).filter(lambda s: "\0" not in s))
def test_rows_hold_what_was_bound(world, caller, rules, a, t):
    caller.begin_example()
    db = world.live("sqlite3")
    stmt = _prepare(caller, db).outs["ppStmt"]
    text = t.encode()
    caller.call("sqlite3_bind_int64", stmt=stmt, index=1, value=a)
    caller.call("sqlite3_bind_text", stmt=stmt, index=2, text=text)
    for run in range(2):  # the second run after a reset: bindings are kept
        step = caller.call("sqlite3_step", stmt=stmt)
        if caller.code_key(step.code) != "ROW":
            raise caller.violation("SEM-step-rows", f"run {run + 1}: step gave {caller.code_key(step.code)}, "
                                   "expected ROW for a SELECT")
        got = (caller.call("sqlite3_column_count", stmt=stmt).ret,
               caller.call("sqlite3_column_type", stmt=stmt, iCol=0).ret,
               caller.call("sqlite3_column_int64", stmt=stmt, iCol=0).ret,
               caller.call("sqlite3_column_type", stmt=stmt, iCol=1).ret,
               caller.call("sqlite3_column_text", stmt=stmt, iCol=1).ret,
               caller.call("sqlite3_column_bytes", stmt=stmt, iCol=1).ret,
               caller.call("sqlite3_column_text", stmt=stmt, iCol=2).ret)
        want = (3, INTEGER, a + 1, TEXT, text, len(text), b"text")
        if got != want:
            raise caller.violation("SEM-row-values", f"run {run + 1}: the row read {got}, expected {want}")
        done = caller.call("sqlite3_step", stmt=stmt)
        if caller.code_key(done.code) != "DONE":
            raise caller.violation("SEM-step-rows", f"after the only row step gave "
                                   f"{caller.code_key(done.code)}, expected DONE")
        if not caller.call("sqlite3_reset", stmt=stmt).ok:
            raise caller.violation("SEM-step-rows", "reset after DONE failed")
    caller.call("sqlite3_finalize", pStmt=stmt)


def test_failed_prepare_leaves_no_statement_and_says_why(world, caller, rules):
    db = world.live("sqlite3")
    o = _prepare(caller, db, b"SELEC nothing FROM nowhere")  # the wrapper checks ppStmt is NULL
    if o.ok:
        raise caller.violation("SEM-errmsg", "invalid SQL was prepared")
    msg = caller.call("sqlite3_errmsg", db=db).ret
    if not msg or msg == b"not an error":
        raise caller.violation("SEM-errmsg", f"after a failed prepare errmsg says {msg!r}")


def test_failed_open_still_gives_a_connection(caller, rules):
    o = caller.call("sqlite3_open_v2", filename=b"/nonexistent-dir/none.db", flags=1)
    if o.ok:
        raise caller.violation("FN-sqlite3_open_v2-returns", "a file in a missing directory opened")
    # on_failure: valid is checked by the call wrapper; closing the connection must work.
    if not caller.call("sqlite3_close_v2", db=o.outs["ppDb"]).ok:
        raise caller.violation("FN-sqlite3_close_v2-returns", "the connection of a failed open "
                               "could not be closed")


def test_finalize_frees_the_statement(world, caller, rules):
    db = world.live("sqlite3")
    for _ in range(5):  # warm caches and lookaside first
        caller.call("sqlite3_finalize", pStmt=_prepare(caller, db).outs["ppStmt"])
    before = memory_used()
    for _ in range(50):
        caller.call("sqlite3_finalize", pStmt=_prepare(caller, db).outs["ppStmt"])
    grown = memory_used() - before
    if grown > 4096:
        raise caller.violation("SEM-finalize-frees", f"50 prepare/finalize cycles left {grown} more "
                               "bytes allocated (sqlite3_memory_used)")


def _open(caller: Caller) -> HandleRef:
    o = caller.call("sqlite3_open_v2", filename=b":memory:", flags=OPEN_READWRITE_CREATE)
    if not o.ok:
        raise caller.violation("FN-sqlite3_open_v2-returns", f"an in-memory database did not open: "
                               f"{caller.code_key(o.code)}")
    return o.outs["ppDb"]


def test_close_with_a_live_statement_is_deferred(caller, rules):
    """The connection is the statements' parent, but closing it is no cascade: close_v2 returns
    OK (a refusal such as sqlite3_close's BUSY is undeclared, which the call wrapper reports)
    and keeps the connection as long as a statement lives; finalizing the last one frees
    everything. The statement is only finalized after the close, never used otherwise."""
    for _ in range(3):  # warm caches: a whole cycle leaves nothing behind
        db = _open(caller)
        stmt = _prepare(caller, db).outs["ppStmt"]
        caller.call("sqlite3_finalize", pStmt=stmt)
        caller.call("sqlite3_close_v2", db=db)
    base = memory_used()
    db = _open(caller)
    stmt = _prepare(caller, db).outs["ppStmt"]
    held = memory_used() - base
    caller.call("sqlite3_close_v2", db=db)  # checked: OK or a declared code
    kept = memory_used() - base
    if kept < held // 2:
        raise caller.violation("SEM-close-deferred", f"close_v2 with a live statement freed "
                               f"{held - kept} of the {held} bytes the connection and statement "
                               "held: the close finalized the statement (a cascade SQLite does not "
                               "have), so the caller's finalize would free it twice")
    fin = caller.call("sqlite3_finalize", pStmt=stmt)
    if not fin.ok:
        raise caller.violation("SEM-close-deferred", f"finalizing the statement of a closed "
                               f"connection gave {caller.code_key(fin.code)}")
    left = memory_used() - base
    if left > 1024:
        raise caller.violation("SEM-close-deferred", f"{left} bytes stay allocated after the last "
                               "statement of a closed connection was finalized: the deferred close "
                               "never completed")


def test_fixtures_leave_nothing_allocated(caller, rules, plugin):
    """Each test's fixtures (a connection and a statement, and the stale ones) are gone after
    the test: the core destroys the statement before its connection, so no connection is left
    waiting for a statement nobody will finalize (close_v2 defers; it does not cascade)."""
    World.build(caller, plugin).teardown()  # warm caches
    base = memory_used()
    for _ in range(3):
        World.build(caller, plugin).teardown()
    left = memory_used() - base
    if left > 1024:
        raise caller.violation("HANDLE-sqlite3-lifecycle", f"three fixture builds and teardowns left "
                               f"{left} bytes allocated: a connection or statement outlived its test")
