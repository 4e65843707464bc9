"""The embedded data directory: its layout, its lock and how to open its stores.

::

    <data dir>/
    ├── events.duckdb      spans and annotations (DuckDBEventStore), plus events.duckdb.wal,
    │                      events.duckdb.tmp/ (spilled sorts) and, during a compaction,
    │                      events.duckdb.compact (ADR 0019)
    ├── events.duckdb.journal  the ingest journal: batches since the last checkpoint
    ├── events.duckdb.sums     every trace's totals, derived: kept by a clean close that
    │                          stamps it, else built behind the open (ADRs 0049, 0074)
    ├── state.sqlite       projects, monitors, ... (SqlStateStore, Alembic-migrated)
    ├── llmpulse.lock      flock()ed while a process has the directory open
    └── VERSION            layout version of the directory, one integer

Only one process may open a data directory: DuckDB allows one writer per file, and two
servers on one directory would each believe they own it. The lock makes the second one fail
at start with a clear `Conflict` rather than later with an engine error.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from llmpulse.domain.errors import Conflict, FieldError, StoreDamaged
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.memory import DEFAULT_MEMORY_LIMIT
from llmpulse.store.state.sql import SqlStateStore

LAYOUT_VERSION = 1


@dataclass(frozen=True, slots=True)
class DataDir:
    """Where each file of an embedded data directory lives."""

    path: Path

    @property
    def events_path(self) -> Path:
        """The DuckDB event database."""
        return self.path / "events.duckdb"

    @property
    def state_path(self) -> Path:
        """The SQLite state database."""
        return self.path / "state.sqlite"

    @property
    def state_url(self) -> str:
        """SQLAlchemy URL of the state database."""
        return f"sqlite:///{self.state_path}"

    @property
    def lock_path(self) -> Path:
        """The lock file (held with flock while open)."""
        return self.path / "llmpulse.lock"

    @property
    def version_path(self) -> Path:
        """The layout version file."""
        return self.path / "VERSION"

    def prepare(self) -> None:
        """Create the directory and its version file, or check an existing version.

        Raises:
            Conflict: the directory was laid out by a newer llmpulse.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.version_path.exists():
            self.version_path.write_text(f"{LAYOUT_VERSION}\n", encoding="ascii")
            return
        text = self.version_path.read_text(encoding="ascii").strip()
        if not text.isdigit() or int(text) > LAYOUT_VERSION:
            raise Conflict(
                f"data directory {self.path} has layout version {text!r}; this llmpulse "
                f"reads version {LAYOUT_VERSION} and older"
            )

    def lock(self) -> DataDirLock:
        """Take the directory's exclusive lock.

        Raises:
            Conflict: another process (or another open in this one) holds it.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a+", encoding="ascii")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise Conflict(
                f"data directory {self.path} is in use by another llmpulse process "
                f"(lock {self.lock_path}); stop it or pick another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return DataDirLock(handle)


class DataDirLock:
    """A held data-directory lock; `release` gives it back (idempotent)."""

    def __init__(self, handle: IO[str]) -> None:
        """Wrap an open, flock()ed lock file."""
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        """Unlock and close the lock file."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def open_stores(
    data_dir: Path | None,
    *,
    journal: bool = True,
    search_index: bool = True,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> tuple[DuckDBEventStore, SqlStateStore]:
    """Open the event and state stores of a data directory (None: both in memory);
    ``memory_limit`` bounds the event store's buffer pool (DuckDB's ``memory_limit``).

    The directory's lock is held until the event store is closed; close both stores when
    done (state store first or last, either works).

    Raises:
        Conflict: the directory is locked by another process or has a newer layout.
        InvalidInput: ``memory_limit`` is not a size.
        StoreDamaged: the event or the state database cannot be read (see its message).
    """
    if data_dir is None:
        return DuckDBEventStore(None, memory_limit=memory_limit), SqlStateStore("sqlite://")
    layout = DataDir(data_dir)
    held = layout.lock()
    try:
        layout.prepare()
        check_sqlite(layout.state_path)
        state = SqlStateStore(layout.state_url)
        try:
            events = DuckDBEventStore(
                layout.events_path,
                on_close=held.release,
                journal=journal,
                search_index=search_index,
                memory_limit=memory_limit,
            )
        except BaseException:
            state.close()
            raise
    except BaseException:
        held.release()
        raise
    return events, state


def check_sqlite(path: Path) -> None:
    """Run SQLite's ``quick_check`` on the state database, if there is one.

    Raises:
        StoreDamaged: the file is not a readable SQLite database or fails the check.
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        verdict = str(exc)
    else:
        try:
            verdict = str(con.execute("PRAGMA quick_check").fetchone()[0])
        except sqlite3.Error as exc:
            verdict = str(exc)
        finally:
            con.close()
    if verdict != "ok":
        raise StoreDamaged(
            f"the state database {path} is damaged ({verdict}). llmpulse will not start on "
            "it; restore the data directory from a backup "
            "(docs/how-to/backup-and-restore.md).",
            [FieldError("data_dir", f"{path.name} is damaged")],
        )
