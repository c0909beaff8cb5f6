//! The generated SQLite bindings against the system libsqlite3 (`nox -s rust`): real SQL,
//! status-code errors carrying the connection's message, statements borrowing their
//! connection, stated preconditions refused before the call.

use sqlite3_subset::{ColumnType, ErrorKey, Library, Threadsafe};

const READWRITE_CREATE: i32 = 0x2 | 0x4; // SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE

fn memory() -> sqlite3_subset::Connection {
    Library::open().unwrap().open_v2(":memory:", READWRITE_CREATE, None).unwrap()
}

fn exec(db: &sqlite3_subset::Connection, sql: &str) {
    let stmt = db.prepare_v2(sql).unwrap().expect("a statement");
    assert_eq!(stmt.step().unwrap(), ErrorKey::Done, "{sql}");
}

#[test]
fn the_library_reports_its_version_and_threading_mode() {
    let lib = Library::open().unwrap();
    assert!(lib.libversion().starts_with("3."), "{}", lib.libversion());
    assert_ne!(lib.threadsafe(), Threadsafe::SingleThread);
}

#[test]
fn rows_round_trip_through_bind_step_and_column() {
    let db = memory();
    exec(&db, "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL, name TEXT, note TEXT)");
    let insert = db.prepare_v2("INSERT INTO t VALUES (?1, ?2, ?3, ?4)").unwrap().unwrap();
    for (id, x, name) in [(1_i64, 0.5, "caf\u{e9} \u{65e5}\u{672c}"), (2, -2.25, "nul\0inside")] {
        insert.bind_int64(1, id).unwrap();
        insert.bind_double(2, x).unwrap();
        insert.bind_text(3, name).unwrap();
        insert.bind_null(4).unwrap();
        assert_eq!(insert.step().unwrap(), ErrorKey::Done);
        assert_eq!(db.changes(), 1);
        insert.reset().unwrap();
    }
    insert.close().unwrap();
    let select = db.prepare_v2("SELECT id, x, name, note, length(name) FROM t ORDER BY id").unwrap().unwrap();
    assert_eq!(select.column_count(), 5);
    assert_eq!(select.step().unwrap(), ErrorKey::Row);
    assert_eq!(select.column_type(0).unwrap(), ColumnType::Integer);
    assert_eq!(select.column_int64(0).unwrap(), 1);
    assert_eq!(select.column_double(1).unwrap(), 0.5);
    assert_eq!(select.column_text(2).unwrap().as_deref(), Some("caf\u{e9} \u{65e5}\u{672c}"));
    assert_eq!(select.column_type(3).unwrap(), ColumnType::Null);
    assert_eq!(select.column_text(3).unwrap(), None);
    assert_eq!(select.step().unwrap(), ErrorKey::Row);
    assert_eq!(select.column_bytes(2).unwrap(), 10, "the bound length kept the NUL byte");
    assert_eq!(select.step().unwrap(), ErrorKey::Done);
}

#[test]
fn failures_carry_the_status_code_and_the_connections_message() {
    let db = memory();
    let syntax = db.prepare_v2("SELEC 1").unwrap_err();
    assert_eq!((syntax.key(), syntax.code()), (ErrorKey::Error, 1));
    assert_eq!(syntax.function(), "sqlite3_prepare_v2");
    assert!(syntax.detail().contains("syntax error"), "{syntax}");
    assert!(!syntax.is_contract_violation());

    exec(&db, "CREATE TABLE u (k INTEGER PRIMARY KEY)");
    exec(&db, "INSERT INTO u VALUES (7)");
    let dup = db.prepare_v2("INSERT INTO u VALUES (7)").unwrap().unwrap();
    let error = dup.step().unwrap_err();
    assert_eq!(error.key(), ErrorKey::Constraint);
    assert!(error.detail().contains("UNIQUE constraint failed"), "{error}");
    let finalize = dup.close().unwrap_err();
    assert_eq!(finalize.key(), ErrorKey::Constraint, "finalize reports the last step's error");

    let range = db.prepare_v2("SELECT ?1").unwrap().unwrap();
    let error = range.bind_int64(5, 1).unwrap_err();
    assert_eq!(error.key(), ErrorKey::Range);
    assert!(error.detail().contains("out of range"), "{error}");
}

#[test]
fn a_stated_precondition_is_refused_before_the_call() {
    let db = memory();
    let stmt = db.prepare_v2("SELECT 1").unwrap().unwrap();
    assert_eq!(stmt.step().unwrap(), ErrorKey::Row);
    let error = stmt.column_int64(-1).unwrap_err();
    assert!(error.detail().contains("iCol is below 0"), "{error}");
    assert_eq!(stmt.column_int64(0).unwrap(), 1);
}

#[test]
fn opening_fails_with_cantopen_and_the_message_of_the_failed_connection() {
    let lib = Library::open().unwrap();
    let error = lib.open_v2("/nonexistent/dir/db.sqlite", 0x2, None).unwrap_err();
    assert_eq!(error.key(), ErrorKey::Cantopen);
    assert!(error.detail().contains("unable to open"), "{error}");
    let vfs = lib.open_v2(":memory:", READWRITE_CREATE, Some("no-such-vfs")).unwrap_err();
    assert_eq!(vfs.key(), ErrorKey::Error);
}

#[test]
fn text_without_a_statement_gives_none() {
    let db = memory();
    assert!(db.prepare_v2("").unwrap().is_none());
    assert!(db.prepare_v2("-- only a comment").unwrap().is_none());
}

#[test]
fn a_connection_moves_to_another_thread_with_its_statements_made_there() {
    let db = memory();
    let total = std::thread::spawn(move || {
        exec(&db, "CREATE TABLE v (n INTEGER)");
        exec(&db, "INSERT INTO v VALUES (1), (2), (3)");
        let sum = db.prepare_v2("SELECT sum(n) FROM v").unwrap().unwrap();
        assert_eq!(sum.step().unwrap(), ErrorKey::Row);
        sum.column_int64(0).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(total, 6);
}
