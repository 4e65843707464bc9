"""Event-store migrations: schema matches the logical columns; versions are recorded."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from llmpulse.domain.errors import Conflict
from llmpulse.store.events.columns import (
    ANNOTATION_COLUMNS,
    SPAN_COLUMNS,
    Column,
    ColumnType,
)
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.layout import DERIVED_SPAN_COLUMNS, METADATA_KV_SQL
from llmpulse.store.events.migrate import apply_migrations, load_migrations

_DUCK_TYPES = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.INT: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.JSON: "JSON",
    ColumnType.TEXT_LIST: "VARCHAR[]",
}


def _describe(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool]]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return [(r[0], r[1], r[2] == "YES") for r in rows]


def _expected(columns: tuple[Column, ...]) -> list[tuple[str, str, bool]]:
    return [(c.name, _DUCK_TYPES[c.type], c.nullable) for c in columns]


def test_duckdb_migrations_create_logical_columns_in_order() -> None:
    con = duckdb.connect()
    assert apply_migrations(con, "duckdb") == len(load_migrations("duckdb"))
    assert _describe(con, "spans") == _expected(SPAN_COLUMNS + DERIVED_SPAN_COLUMNS)
    assert _describe(con, "annotations") == _expected(ANNOTATION_COLUMNS)


def test_duckdb_migrations_run_once_when_reapplied() -> None:
    con = duckdb.connect()
    apply_migrations(con, "duckdb")
    apply_migrations(con, "duckdb")
    rows = con.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
    assert rows == [(m.version, m.name) for m in load_migrations("duckdb")]


def test_event_store_refuses_database_when_schema_is_newer(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    DuckDBEventStore(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version (version, name) VALUES (999, 'future')")
    con.close()
    with pytest.raises(Conflict, match="newer"):
        DuckDBEventStore(path)


def test_store_and_migration_derive_metadata_pairs_with_one_expression() -> None:
    sql = next(m.sql for m in load_migrations("duckdb") if m.name == "span_layout")
    assert METADATA_KV_SQL in sql
