"""The ingest journal: a second, independent record of every commit since the last checkpoint.

DuckDB's write-ahead log is the only copy of a committed batch until a checkpoint folds it into
the data file, and DuckDB drops a damaged log's tail without a word (see `duckdb_open`). The
journal (``events.duckdb.journal``) keeps the same batches as Arrow IPC records, each framed
with its length and CRC-32, and is written and synced *before* the batch goes to DuckDB:

- journal write fails (disk full) → DuckDB is not touched, the request gets 503; nothing half
  stored, nothing acknowledged;
- DuckDB insert fails → the journal is cut back to where it was, so it never holds spans that
  were not acknowledged (a retry would otherwise be replayed twice);
- a checkpoint succeeds → the data file holds everything, the journal is emptied.

At open, the store reinserts every journal row whose id the store lacks (`reconcile`), so a
damaged log loses no acknowledged span as long as the journal is intact.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc

from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.layout import DERIVED_SPAN_SQL

log = logging.getLogger(__name__)
SPANS, ANNOTATIONS = 1, 2
_MAGIC = b"LPJ1"
_HEADER = struct.Struct("<4sBII")  # magic, kind, payload length, CRC-32 of the payload


def journal_path(db_path: Path) -> Path:
    """The journal of a database file."""
    return db_path.with_name(db_path.name + ".journal")


@dataclass(frozen=True, slots=True)
class JournalContents:
    """The readable records of a journal and where reading stopped."""

    records: list[tuple[int, pa.Table]]
    size: int
    readable_bytes: int

    @property
    def damaged_bytes(self) -> int:
        """Bytes after the last readable record (a torn write, or damage)."""
        return self.size - self.readable_bytes


class IngestJournal:
    """Append-only, synced records of the batches committed since the last checkpoint."""

    def __init__(self, path: Path, *, sync: bool = True) -> None:
        """Open (creating) the journal file; ``sync=False`` skips fdatasync (tests only)."""
        self.path = path
        self._sync = sync
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        """Bytes in the journal."""
        return self._size

    def append(self, kind: int, table: pa.Table) -> int:
        """Write one record and sync it; returns the size before it (for `rollback`).

        Raises:
            OSError: the record could not be written (it is cut off again first).
        """
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, table.schema) as writer:
            writer.write(table)
        payload = sink.getvalue().to_pybytes()
        record = _HEADER.pack(_MAGIC, kind, len(payload), zlib.crc32(payload)) + payload
        before = self._size
        try:
            view = memoryview(record)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if self._sync:
                os.fdatasync(self._fd)
        except OSError:
            self.rollback(before)
            raise
        self._size = before + len(record)
        return before

    def rollback(self, size: int) -> None:
        """Cut the journal back to ``size`` bytes (a record whose commit failed)."""
        try:
            os.ftruncate(self._fd, size)
        except OSError:
            log.exception("could not cut the ingest journal back to %d bytes", size)
            return
        self._size = size

    def reset(self) -> None:
        """Empty the journal: a checkpoint put everything in the data file."""
        self.rollback(0)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_journal(path: Path) -> JournalContents:
    """Every readable record, in order; reading stops at the first torn or damaged one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return JournalContents([], 0, 0)
    records = list(_records(data))
    readable = sum(_HEADER.size + len(payload) for _, payload in records)
    tables = [(kind, ipc.open_stream(payload).read_all()) for kind, payload in records]
    return JournalContents(tables, len(data), readable)


def _records(data: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset + _HEADER.size <= len(data):
        magic, kind, length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = data[start : start + length]
        if magic != _MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
            return
        yield kind, payload
        offset = start + length


@dataclass(frozen=True, slots=True)
class JournalRestore:
    """What `reconcile` put back into the store at open."""

    records: int
    spans: int
    annotations: int
    damaged_bytes: int

    def messages(self) -> list[str]:
        """Notes for the log and the readiness report (none when nothing happened)."""
        notes = []
        if self.spans or self.annotations:
            notes.append(
                f"restored {self.spans} spans and {self.annotations} annotations from the "
                "ingest journal that the event store had lost (its write-ahead log was "
                "damaged)"
            )
        if self.damaged_bytes:
            notes.append(
                f"the ingest journal ended in {self.damaged_bytes} unreadable bytes (a write "
                "cut off by a crash is never acknowledged); they were dropped"
            )
        return notes


def reconcile(con: duckdb.DuckDBPyConnection, db_path: Path) -> JournalRestore | None:
    """Insert every journal row whose id the store lacks; cut off a torn tail.

    ``con`` has the event database as its default catalog.
    """
    path = journal_path(db_path)
    contents = read_journal(path)
    if not contents.size:
        return None
    spans = [t for kind, t in contents.records if kind == SPANS]
    annotations = [t for kind, t in contents.records if kind == ANNOTATIONS]
    restore = JournalRestore(
        records=len(contents.records),
        spans=_insert_missing(con, "spans", "span_id", spans),
        annotations=_insert_missing(con, "annotations", "id", annotations),
        damaged_bytes=contents.damaged_bytes,
    )
    if contents.damaged_bytes:
        os.truncate(path, contents.readable_bytes)  # appends must follow a readable record
    for note in restore.messages():
        log.warning("%s", note)
    return restore


def _insert_missing(
    con: duckdb.DuckDBPyConnection, table: str, key: str, tables: list[pa.Table]
) -> int:
    if not tables:
        return 0
    rows = pa.concat_tables(tables, promote_options="default")
    if table == "spans":  # the span columns alone (a record may bring the summary row too)
        rows = rows.select(list(SPAN_COLUMN_NAMES))
    con.register("journal_rows", rows)
    try:
        missing = f"SELECT j.* FROM journal_rows j ANTI JOIN {table} t ON j.{key} = t.{key}"
        derived = f", {DERIVED_SPAN_SQL}" if table == "spans" else ""
        result = con.execute(f"INSERT INTO {table} SELECT *{derived} FROM ({missing})").fetchall()
    finally:
        con.unregister("journal_rows")
    return int(result[0][0]) if result else 0
