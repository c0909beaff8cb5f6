"""The SQLite plug-in (examples/sqlite/spec/sqlite3.yaml): an in-memory database, a statement
with two parameters, and semantic tests of rows, errors and finalize (test_statements.py);
`python -m conformance.plugins.sqlite3_subset.mutants` proves wrapper mutants are caught."""

from conformance.plugins.sqlite3_subset.plugin import SqlitePlugin

PLUGIN = SqlitePlugin
