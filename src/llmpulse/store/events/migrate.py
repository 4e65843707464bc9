"""Numbered SQL migrations for event engines (``migrations/<engine>/NNNN_name.sql``).

Each file runs once, in number order, in its own transaction together with the row that
records it in ``schema_version``. A database whose version is newer than this code knows is
refused rather than written to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from llmpulse.domain.errors import Conflict

_FILE_RE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


class SqlConnection(Protocol):
    """The slice of a DB-API connection the migrator needs (duckdb's fits)."""

    def execute(self, query: str, parameters: Any = None) -> Any:
        """Run one statement."""
        ...

    def fetchall(self) -> list[Any]:
        """Rows of the last statement."""
        ...


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def load_migrations(engine: str) -> list[Migration]:
    """Read the migration files of one engine from the installed package, in order."""
    folder = resources.files("llmpulse.store.events").joinpath("migrations", engine)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_RE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{engine} migrations are not numbered 1..n: {versions}")
    return found


def current_version(con: SqlConnection) -> int:
    """The highest applied migration number, 0 for an empty database."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    con.execute("SELECT coalesce(max(version), 0) FROM schema_version")
    return int(con.fetchall()[0][0])


def apply_migrations(con: SqlConnection, engine: str) -> int:
    """Bring the database to the newest schema; return the version it ends at.

    Raises:
        Conflict: the database was written by a newer llmpulse.
    """
    migrations = load_migrations(engine)
    version = current_version(con)
    if version > len(migrations):
        raise Conflict(
            f"event store schema version {version} is newer than this llmpulse knows "
            f"({len(migrations)}); upgrade llmpulse"
        )
    for migration in migrations[version:]:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        version = migration.version
    return version
