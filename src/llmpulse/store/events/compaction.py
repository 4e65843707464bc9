"""Compaction of the DuckDB event file (ADR 0019).

DuckDB reuses free blocks for new rows but never shrinks its file, and neither ``VACUUM``
nor ``CHECKPOINT`` gives free blocks back: under streaming ingest (many small commits) and
after a layout migration a third to a half of the file is free. Compaction writes every row
into a fresh file next to the database and swaps the two:

1. *Prepare* (no lock): a new file ``<db>.compact`` gets the current schema from the
   migrations themselves, so column compression and derived columns are exactly those of a
   new store.
2. *Copy* (no lock; appends and queries go on): one read transaction, opened under the
   writer's lock so that no append is in flight, notes each table's highest ``rowid`` and
   copies the rows up to it in runs of row ids, each in ``(project, start_time)`` order
   (`copy_snapshot`). A second such pass copies
   what was appended during the first, so that little is left for the locked step.
3. *Tail* (writer's lock held: appends wait): rows appended meanwhile (``rowid`` above the
   mark; the tables are append-only) are copied, the row counts of both files are compared
   (a mismatch abandons the compaction), and the new file is checkpointed.
4. *Swap* (writer's lock and the readers' swap lock): a marker file ``<db>.compact.done``
   records that the new file is complete and durable; the old database is closed without a
   checkpoint (its rows are all in the new file), its write-ahead log deleted, the new file
   renamed over it, the directory synced and the marker removed; the store reopens.

The marker is the commit point. `recover` runs at every open: without a marker, a
``.compact`` file is an unfinished copy and is deleted (the old file and its log are
untouched); with one, the swap is finished (roll forward), since the old log would otherwise
be replayed onto the new file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from llmpulse.store.api import CompactionResult

__all__ = ["CompactionResult"]

COMPACT_SUFFIX = ".compact"
COMPACT_CATALOG = "events_compact"
# Tables copied row by row; ``schema_version`` comes from running the migrations.
DISK_MARGIN = 256 * 1024 * 1024
"""Free disk a compaction leaves for ingest and the rest of the machine (`disk_needed`)."""
COPY_CHUNK_ROWS = 32_768
"""Row ids per sorted run of a compaction's copy (`copy_snapshot`)."""
COPIED_TABLES: tuple[tuple[str, str], ...] = (
    ("spans", "project, start_time, rowid"),
    ("annotations", "rowid"),
)


@dataclass(frozen=True, slots=True)
class FreeSpace:
    """Block counts of the database file (``pragma_database_size``)."""

    total_blocks: int
    free_blocks: int
    bytes_on_disk: int

    @property
    def free_ratio(self) -> float:
        """Share of the file's blocks that hold nothing."""
        return self.free_blocks / self.total_blocks if self.total_blocks else 0.0

    def slack_blocks(self, num_spans: int, row_groups: int, row_group_size: int) -> int:
        """Free blocks that streaming ingest needs as working space (ADR 0042): DuckDB writes
        each checkpoint's rows as a new row group and its checkpoint merges runs of short row
        groups into full ones, copy on write, up to ``row_groups`` full row groups at once
        (three in DuckDB 2.0). A compaction that gives these blocks back only makes the file
        grow by as much again within a few row groups of ingest."""
        used = self.total_blocks - self.free_blocks
        if not num_spans or not used:
            return 0
        return -(-used * row_group_size * row_groups // num_spans)  # blocks per row group, up

    @property
    def used_bytes(self) -> int:
        """Bytes of the file's blocks that hold data."""
        if not self.total_blocks:
            return 0
        return self.bytes_on_disk * (self.total_blocks - self.free_blocks) // self.total_blocks

    def disk_needed(self) -> int:
        """Free disk a compaction needs beside the file: its used blocks written again, a
        quarter more (a copy can store a column less compressed than the file does, and
        ingest goes on meanwhile), and `DISK_MARGIN` for everything else on the disk."""
        return self.used_bytes * 5 // 4 + DISK_MARGIN

    def worth_compacting(
        self, num_spans: int, *, free_ratio: float, slack_row_groups: int, row_group_size: int
    ) -> bool:
        """Whether the free blocks beyond the streaming slack reach ``free_ratio`` of the file."""
        if not self.total_blocks:
            return False
        slack = self.slack_blocks(num_spans, slack_row_groups, row_group_size)
        return (self.free_blocks - slack) / self.total_blocks >= free_ratio


def compact_path(path: Path) -> Path:
    """Where the compacted copy of ``path`` is written before the swap."""
    return path.with_name(path.name + COMPACT_SUFFIX)


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log of the database file ``path``."""
    return path.with_name(path.name + ".wal")


def done_path(path: Path) -> Path:
    """The marker that says the compacted copy of ``path`` is complete."""
    return path.with_name(path.name + COMPACT_SUFFIX + ".done")


def remove_leftovers(path: Path) -> None:
    """Delete an unfinished compacted copy (and its log)."""
    target = compact_path(path)
    for leftover in (target, wal_path(target)):
        leftover.unlink(missing_ok=True)


def recover(path: Path) -> None:
    """Finish or undo a compaction that a crash interrupted (see the module docstring)."""
    marker = done_path(path)
    if marker.exists():
        if compact_path(path).exists():
            finish_swap(path)
        else:
            marker.unlink()
            _sync_dir(path.parent)
    remove_leftovers(path)


def mark_done(path: Path) -> None:
    """Record durably that the compacted copy is complete (the commit point).

    Raises:
        RuntimeError: the copy still has a write-ahead log (it was not checkpointed).
    """
    target = compact_path(path)
    if wal_path(target).exists():
        raise RuntimeError(f"write-ahead log {wal_path(target).name} left after checkpoint")
    for synced in (target, path.parent):
        fd = os.open(synced, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    with done_path(path).open("wb") as marker:
        os.fsync(marker.fileno())
    _sync_dir(path.parent)


def finish_swap(path: Path) -> None:
    """Replace the database by its complete compacted copy (old log first), then unmark."""
    wal_path(path).unlink(missing_ok=True)
    os.replace(compact_path(path), path)
    _sync_dir(path.parent)
    done_path(path).unlink()
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_space(cur: duckdb.DuckDBPyConnection, catalog: str, path: Path) -> FreeSpace:
    """Total and free blocks of the attached database ``catalog``."""
    # fetchall, not fetchone: a result left unread keeps the cursor's transaction open, and
    # an open transaction keeps every block it could read from being counted (or reused) as free.
    rows = cur.execute(
        "SELECT total_blocks, free_blocks FROM pragma_database_size() WHERE database_name = ?",
        [catalog],
    ).fetchall()
    total, free = (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
    return FreeSpace(total_blocks=total, free_blocks=free, bytes_on_disk=file_size(path))


def file_size(path: Path) -> int:
    """Bytes of a file, 0 if it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def copy_snapshot(
    cur: duckdb.DuckDBPyConnection,
    source: str,
    marks: dict[str, int],
    after: dict[str, int] | None = None,
) -> None:
    """Copy each table's rows up to its mark (and above ``after``'s) into the compacted copy,
    in the transaction `take_marks` opened, and commit it.

    The rows go in runs of `COPY_CHUNK_ROWS` row ids, each sorted on its own: one sort of a
    whole 1M-span table (a few kB a span) ran out of the store's 512 MB and failed the
    compaction, and the queries beside it (ADR 0045). Rows are appended in about time order,
    so each run holds a stretch of time, sorted by project and start time: the zone maps on
    start time stay tight, and a project's rows are contiguous within each run. (A pass per
    project instead would decompress every run's bulky columns once per project.)"""
    for table, order in COPIED_TABLES:
        low = -1 if after is None else after[table]
        while low < marks[table]:
            high = min(low + COPY_CHUNK_ROWS, marks[table])
            cur.execute(
                f"INSERT INTO {COMPACT_CATALOG}.{table} SELECT * FROM {source}.{table} "
                f"WHERE rowid > ? AND rowid <= ? ORDER BY {order}",
                [low, high],
            )
            low = high
    cur.execute("COMMIT")


def take_marks(cur: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    """Open a read transaction on ``cur`` and note each table's highest row id in it."""
    cur.execute("BEGIN TRANSACTION")
    marks: dict[str, int] = {}
    for table, _ in COPIED_TABLES:
        row = cur.execute(f"SELECT coalesce(max(rowid), -1) FROM {source}.{table}").fetchone()
        marks[table] = int(row[0]) if row else -1
    return marks


def copy_tail(cur: duckdb.DuckDBPyConnection, source: str, marks: dict[str, int]) -> int:
    """Copy rows appended after the marks; check both files hold the same rows.

    Returns:
        The number of rows copied.

    Raises:
        RuntimeError: the row counts differ (rows were removed meanwhile): do not swap.
    """
    copied = 0
    cur.execute("BEGIN TRANSACTION")
    try:
        for table, _ in COPIED_TABLES:
            row = cur.execute(
                f"SELECT count(*) FROM {source}.{table} WHERE rowid > ?", [marks[table]]
            ).fetchone()
            copied += int(row[0]) if row else 0
            cur.execute(
                f"INSERT INTO {COMPACT_CATALOG}.{table} SELECT * FROM {source}.{table} "
                "WHERE rowid > ? ORDER BY rowid",
                [marks[table]],
            )
            _check_counts(cur, source, table)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return copied


def _check_counts(cur: duckdb.DuckDBPyConnection, source: str, table: str) -> None:
    row = cur.execute(
        f"SELECT (SELECT count(*) FROM {source}.{table}), "
        f"(SELECT count(*) FROM {COMPACT_CATALOG}.{table})"
    ).fetchone()
    if row is None or row[0] != row[1]:
        raise RuntimeError(f"compaction of {table} copied {row and row[1]} of {row and row[0]}")


class SwapLock:
    """Many readers or one swapper; a waiting swapper holds off new readers. A thread that
    holds it shared may take it shared again (a read of several statements on one snapshot
    holds it across them, ADR 0050)."""

    def __init__(self) -> None:
        """An unheld lock."""
        self._cond = threading.Condition()
        self._readers = 0
        self._swapping = False
        self._waiting = 0
        self._held = threading.local()

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Held by a query for its duration."""
        depth: int = getattr(self._held, "depth", 0)
        if depth:  # held by this thread already: a waiting swapper must not hold it off
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        with self._cond:
            while self._swapping or self._waiting:
                self._cond.wait()
            self._readers += 1
        self._held.depth = 1
        try:
            yield
        finally:
            self._held.depth = 0
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held while the database file is swapped."""
        with self._cond:
            self._waiting += 1
            while self._swapping or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._swapping = True
        try:
            yield
        finally:
            with self._cond:
                self._swapping = False
                self._cond.notify_all()
