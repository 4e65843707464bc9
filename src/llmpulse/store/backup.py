"""Consistent backups of a data directory, taken while the server runs, and their restore.

`backup_data_dir` copies the event database as of one snapshot (DuckDB ``COPY FROM
DATABASE`` in a read transaction: ingest keeps committing meanwhile) and the state database
with SQLite's online backup API, then writes the layout version and a manifest. The copy is
a complete data directory: `restore_data_dir` verifies it opens, moves the current files of
the target directory aside (never deletes them) and puts the backup in their place. Restore
needs the server stopped (the directory lock says so).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from llmpulse.domain.errors import Conflict, FieldError, InvalidInput
from llmpulse.store.api import EventStore
from llmpulse.store.datadir import LAYOUT_VERSION, DataDir, check_sqlite
from llmpulse.store.events.duckdb_open import CATALOG, attach, damaged, verify_blocks

MANIFEST = "BACKUP.json"
_FILES = ("events.duckdb", "state.sqlite", "VERSION")


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup holds."""

    target: str
    spans: int
    bytes: int
    created_at: str


def default_backup_dir(data_dir: Path) -> Path:
    """Where backups go unless configured: ``backups`` beside the data directory."""
    return data_dir.resolve().parent / "backups"


def backup_data_dir(events: EventStore, source: Path, target: Path, now: datetime) -> BackupReport:
    """Write a consistent copy of the open data directory ``source`` into ``target``.

    Raises:
        InvalidInput: ``target`` exists and is not an empty directory, or is inside ``source``.
    """
    target = target.resolve()
    if target.is_relative_to(source.resolve()):
        raise InvalidInput(
            f"backup target {target} is inside the data directory",
            [FieldError("target", "pick a directory outside the data directory")],
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(
            f"backup target {target} exists and is not an empty directory",
            [FieldError("target", "pick a new or empty directory")],
        )
    target.mkdir(parents=True, exist_ok=True)
    layout, copy = DataDir(source), DataDir(target)
    spans = events.backup_to(copy.events_path)
    if layout.state_path.exists():
        src = sqlite3.connect(layout.state_path)
        dst = sqlite3.connect(copy.state_path)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    copy.version_path.write_text(f"{LAYOUT_VERSION}\n", encoding="ascii")
    size = sum(p.stat().st_size for p in target.iterdir() if p.is_file())
    report = BackupReport(str(target), spans, size, now.isoformat())
    (target / MANIFEST).write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return report


def verify_backup(backup: Path) -> int:
    """Open a backup read-only and return its span count.

    Raises:
        InvalidInput: ``backup`` is not a backup directory.
        StoreDamaged: a database in it is damaged.
    """
    copy = DataDir(backup)
    if not copy.events_path.is_file() or not copy.version_path.is_file():
        raise InvalidInput(
            f"{backup} is not an llmpulse backup (no events.duckdb and VERSION in it)",
            [FieldError("backup", "a directory written by `llmpulse backup`")],
        )
    check_sqlite(copy.state_path)
    con = duckdb.connect(":memory:")
    try:
        attach(con, copy.events_path, read_only=True)
        verify_blocks(con, copy.events_path)
        (n,) = con.execute(f"SELECT count(*) FROM {CATALOG}.spans").fetchall()[0]
        return int(n)
    except duckdb.Error as exc:
        raise damaged(copy.events_path, exc) from None
    finally:
        con.close()


def restore_data_dir(backup: Path, data_dir: Path, now: datetime) -> Path | None:
    """Replace the data directory's databases with a verified backup (server stopped).

    Returns where the replaced files were moved (None when there were none).

    Raises:
        Conflict: a server holds the data directory.
        InvalidInput, StoreDamaged: the backup is not usable (nothing was changed).
    """
    verify_backup(backup)
    layout = DataDir(data_dir)
    held = layout.lock()
    try:
        present = [
            p for p in data_dir.iterdir() if p.name in _FILES or p.name.startswith("events.duckdb.")
        ]
        aside: Path | None = None
        if present:
            aside = data_dir / f"replaced-{now.strftime('%Y%m%dT%H%M%S')}"
            if aside.exists():
                raise Conflict(f"{aside} exists already; retry in a second")
            aside.mkdir()
            for p in present:
                p.rename(aside / p.name)
        for name in _FILES:
            if (backup / name).exists():
                shutil.copy2(backup / name, data_dir / name)
        return aside
    finally:
        held.release()
