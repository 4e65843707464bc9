"""Open a DuckDB event file, verify it and replay its write-ahead log without losing track.

DuckDB replays a WAL whose tail cannot be read (a torn or truncated file) only up to the last
readable entry, drops the rest and says nothing; the dropped bytes vanish at the next write.
So this module first attaches with ``debug_abort_on_wal_failure``: a damaged log makes that
attach fail with the byte position where replay stopped. Then it keeps a copy of the log
beside it, counts what the readable part gives back, attaches again (tolerant) and returns a
`WalRecovery` saying what was recovered and what was not, for the log, ``/readyz`` and the
stats. A data file that cannot be attached, or that is shorter than its own block table says,
raises `StoreDamaged` with what to do instead of starting "healthy" and failing later.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from llmpulse.domain.errors import FieldError, InvalidInput, StoreDamaged
from llmpulse.store.events.compiler import MAX_LIMIT
from llmpulse.store.events.migrate import apply_migrations, current_version
from llmpulse.store.memory import is_memory_limit

CATALOG = "events"
ROW_GROUP_SIZE = 16_384
# A checkpoint compresses the WAL's rows into the file and rewrites the open row group, inside
# the commit that triggers it. DuckDB's default (16 MB of WAL: every ~5k spans of 3 kB) halves
# append throughput. With 16k-row row groups, 300-span commits cost 41 µs per span at 64 MB
# and 29 at 256 MB; over OTLP (150k spans, 4 senders) 256 MB gave 16-18k spans/s instead of
# 14k at the same peak RSS (the memory limit bounds the buffer pool either way). The writer
# also checkpoints whenever ingest pauses, so a restart rarely replays a long log.
WAL_AUTOCHECKPOINT = "256MB"
_WAL_POSITION = re.compile(r"byte position (\d+)")
_HEADER_BYTES = 3 * 4096  # the main header and the two database headers before block 0
HELP = "restore the data directory from a backup (docs/how-to/backup-and-restore.md)"


@dataclass(frozen=True, slots=True)
class WalRecovery:
    """What a replay of a damaged write-ahead log recovered and what it could not."""

    wal_bytes: int
    replayed_bytes: int
    spans_in_file: int
    spans_recovered: int
    kept_copy: Path

    @property
    def lost_bytes(self) -> int:
        """Bytes of the log after the point where replay stopped."""
        return self.wal_bytes - self.replayed_bytes

    def message(self) -> str:
        """One paragraph for the log and the readiness report."""
        return (
            f"the event store's write-ahead log was damaged: replay stopped at byte "
            f"{self.replayed_bytes} of {self.wal_bytes}. Recovered {self.spans_recovered} "
            f"spans from its readable part ({self.spans_in_file} were already in the data "
            f"file); the last {self.lost_bytes} bytes could not be read, and a log cut short "
            f"may have lost more that no longer shows in it. A copy of the damaged log is kept "
            f"at {self.kept_copy}. A commit cut off by a crash was never acknowledged; any "
            f"other loss means acknowledged spans are missing: {HELP}."
        )


def connect(
    path: Path | None, memory_limit: str
) -> tuple[duckdb.DuckDBPyConnection, int, WalRecovery | None]:
    """Open, verify and migrate the database; return it, its schema version and any recovery.

    Raises:
        InvalidInput: ``memory_limit`` is not a size.
        StoreDamaged: the data file cannot be read or is shorter than its block table.
    """
    if not is_memory_limit(memory_limit):
        raise InvalidInput(
            f"memory limit {memory_limit!r} is not a size",
            [FieldError("memory_limit", "e.g. 512MB or 2GB")],
        )
    con = duckdb.connect(":memory:")
    try:
        _tune(con, memory_limit)
        recovery = None if path is None else _attach_checked(con, path)
        if path is None:
            attach(con, None)
        con.execute(f"USE {CATALOG}")
        if path is not None:
            verify_blocks(con, path)
            # Sorts that spill (a compaction's copy, a layout migration) write beside the
            # database, not into `.tmp` under whatever directory the process started in.
            spill = path.with_name(path.name + ".tmp")
            con.execute(f"SET temp_directory = '{quote(str(spill))}'")
        before = current_version(con)
        # A migration that rewrites the span table sorts all of it once: give that one-off
        # statement most of the machine (a 1M-span table failed at the 512 MB default), then
        # go back to the bounded buffer pool.
        con.execute(f"SET GLOBAL memory_limit = '{migration_memory_limit()}'")
        version = apply_migrations(con, "duckdb")
        if version != before:
            # A migration that rewrote a table frees the old blocks only at a checkpoint;
            # without it the writer's first compaction check would see none free (ADR 0019).
            con.execute(f"CHECKPOINT {CATALOG}")
        con.execute(f"SET GLOBAL memory_limit = '{memory_limit}'")
        return con, version, recovery
    except BaseException:
        con.close()
        raise


def migration_memory_limit() -> str:
    """Memory for schema migrations: 60 % of the machine's RAM (at least 1 GB)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        total = 0
    return f"{max(1 << 30, int(total * 0.6)) // (1 << 20)}MB"


def _tune(con: duckdb.DuckDBPyConnection, memory_limit: str) -> None:
    con.execute(f"SET GLOBAL wal_autocheckpoint = '{WAL_AUTOCHECKPOINT}'")
    # zstd is chosen per column by the span table's layout (ADR 0010), not forced globally.
    # A long statement (a migration that rewrites the span table) would otherwise draw
    # DuckDB's progress bar on the server's stdout.
    con.execute("SET enable_progress_bar = false")
    # Bounded buffer pool: without it DuckDB may cache up to 80 % of RAM (GBs at 1M spans).
    con.execute(f"SET GLOBAL memory_limit = '{memory_limit}'")
    # Top-N over full rows: sort on (start_time, span_id) alone, then fetch the page's
    # other columns by row id. DuckDB does this only up to 50 rows by default; a page of
    # 101 full rows otherwise decompresses every column of each row group it scans
    # (36 ms instead of 7 ms for the newest 100 of 1M spans of 3 kB).
    con.execute(f"SET GLOBAL late_materialization_max_rows = {MAX_LIMIT + 1}")


def attach(con: duckdb.DuckDBPyConnection, path: Path | None, *, read_only: bool = False) -> None:
    """ATTACH the event database as ``events`` (None: in memory).

    Row groups of 16k rows instead of 122,880: a checkpoint recompresses the table's last,
    partly filled row group, and at ~3 kB per span a full-size one is ~400 MB of text.
    Appending 300k benchmark spans in 3k-span commits took 54 µs per span with the default
    (single checkpoints up to 4 s) and 26 µs with 16k. The size is an ATTACH option that the
    file does not remember, so every open attaches with it.
    """
    target = ":memory:" if path is None else str(path)
    options = f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}" + (", READ_ONLY" if read_only else "")
    con.execute(f"ATTACH '{quote(target)}' AS {CATALOG} ({options})")


def wal_path(path: Path) -> Path:
    """The write-ahead log of a database file."""
    return path.with_name(path.name + ".wal")


def _attach_checked(con: duckdb.DuckDBPyConnection, path: Path) -> WalRecovery | None:
    wal = wal_path(path)
    wal_bytes = _size(wal)
    con.execute(f"SET debug_abort_on_wal_failure = {'true' if wal_bytes else 'false'}")
    try:
        attach(con, path)
        return None
    except duckdb.Error as exc:
        position = _WAL_POSITION.search(str(exc))
        torn = torn_entry(wal) if "not enough data" in str(exc) else None
        if "replaying WAL" not in str(exc) or (position is None and torn is None):
            raise damaged(path, exc) from None
        replayed = int(position.group(1)) if position is not None else int(torn or 0)
    finally:
        con.execute("SET debug_abort_on_wal_failure = false")
    return _recover(con, path, wal_bytes, replayed)


def torn_entry(wal: Path) -> int | None:
    """Where a cut ended the log, when it fell inside an entry's 16-byte frame header or
    between two entries of one commit: DuckDB then says only "not enough data" instead of a
    byte position (it names one when the cut tore a payload).

    After the log's version entry (see `first_entry`), every entry is framed as a
    little-endian u64 payload size, a u64 checksum and the payload; the frames are followed
    from the first one to the end of the file. The answer is the offset of the torn frame, or
    the end of the file when the last frame is whole (the commit's remaining entries, up to
    its flush marker, were cut off). None when the bytes are not such a chain (the file is
    damaged otherwise).
    """
    data = wal.read_bytes()
    off = first_entry(data)
    if off is None:
        return None
    while off + 16 <= len(data):
        size = int.from_bytes(data[off : off + 8], "little")
        if not 0 < size <= len(data) - off - 16:
            return None  # a torn payload (DuckDB names a position) or not a frame
        off += 16 + size
    return off


_WAL_VERSION = 98  # DuckDB's WALType::WAL_VERSION
_END_OF_OBJECT = 0xFFFF
# Fields of the version entry: 100 the entry type, 101 the log version, 102 the database
# identifier (a list of 16 bytes), 103 the checkpoint iteration.
_VERSION_FIELDS = {100, 101, 102, 103}
_LIST_FIELD = 102


def first_entry(data: bytes) -> int | None:
    """Where the first framed entry of a log starts: right after its version entry.

    The version entry is written unframed in DuckDB's binary serialization: fields, each a
    little-endian u16 id and a varint value (field 102 a varint count and that many varints),
    up to the u16 0xFFFF that ends the object. Its length varies with the varints, so it is
    read rather than assumed. None when the log does not start with a version entry.
    """
    off, entry_type = 0, None
    while off + 2 <= len(data):
        field = int.from_bytes(data[off : off + 2], "little")
        off += 2
        if field == _END_OF_OBJECT:
            return off if entry_type == _WAL_VERSION else None
        if field not in _VERSION_FIELDS:
            return None
        count = 1
        if field == _LIST_FIELD:
            count, off = _varint(data, off)
        for _ in range(count):
            value, off = _varint(data, off)
            if off > len(data):
                return None
            if field == 100:
                entry_type = value
    return None


def _varint(data: bytes, off: int) -> tuple[int, int]:
    """The unsigned LEB128 value at ``off`` and the offset after it (past the end: cut)."""
    value = shift = 0
    while off < len(data):
        byte = data[off]
        off += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, off
        shift += 7
    return value, len(data) + 1


def _recover(
    con: duckdb.DuckDBPyConnection, path: Path, wal_bytes: int, replayed: int
) -> WalRecovery:
    """Keep the damaged log, count what the data file alone holds, then replay what can be."""
    wal = wal_path(path)
    kept = _free_name(wal.with_name(wal.name + ".damaged"))
    shutil.copy2(wal, kept)
    aside = wal.with_name(wal.name + ".replaying")
    wal.rename(aside)
    try:
        attach(con, path, read_only=True)
        in_file = _count_spans(con)
        con.execute(f"DETACH {CATALOG}")
    except duckdb.Error as exc:
        raise damaged(path, exc) from None
    finally:
        aside.rename(wal)
    try:
        attach(con, path)
    except duckdb.Error as exc:
        raise damaged(path, exc) from None
    total = _count_spans(con)
    return WalRecovery(wal_bytes, replayed, in_file, max(0, total - in_file), kept)


def _count_spans(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'spans'",
        [CATALOG],
    ).fetchall()
    if not rows or not rows[0][0]:
        return 0
    (n,) = con.execute(f"SELECT count(*) FROM {CATALOG}.spans").fetchall()[0]
    return int(n)


def verify_blocks(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Fail when the file is shorter than the blocks its own header says it has (cut off).

    Raises:
        StoreDamaged: the file is truncated.
    """
    rows = con.execute(
        "SELECT block_size, total_blocks, free_blocks FROM pragma_database_size() "
        "WHERE database_name = ?",
        [CATALOG],
    ).fetchall()
    if not rows:
        return
    block_size, total_blocks, free_blocks = (int(v) for v in rows[0])
    # A checkpoint cuts free blocks off the end of the file but still counts them in the
    # header's total, so only the used blocks are sure to be on disk.
    used = total_blocks - free_blocks
    need = _HEADER_BYTES + block_size * used if used else 0
    have = _size(path)
    if have < need:
        raise StoreDamaged(
            f"the event store {path} is damaged: it is {have} bytes long but its header "
            f"lists {used} used blocks of {block_size} bytes ({need} bytes), so the file "
            f"was cut off. llmpulse will not start on it; {HELP}.",
            [FieldError("data_dir", f"{path.name} is truncated")],
        )


def damaged(path: Path, exc: BaseException) -> StoreDamaged:
    """The error for a data file DuckDB cannot open."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return StoreDamaged(
        f"the event store {path} cannot be read ({reason}). llmpulse will not start on it; "
        f"{HELP}, or move the file away to start with an empty event store.",
        [FieldError("data_dir", f"{path.name} is unreadable")],
    )


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, committing: AbstractContextManager[object] | None = None
) -> Iterator[None]:
    """Run the block in one transaction on ``con``: committed at its end (inside
    ``committing``, when given), rolled back if it raises. A rollback that fails too (DuckDB
    ends a transaction whose COMMIT failed, and its ROLLBACK then says none is active) does
    not hide the block's own error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        with committing if committing is not None else nullcontext():
            con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def quote(text: str) -> str:
    """``text`` inside a single-quoted SQL string literal."""
    return text.replace("'", "''")


def _free_name(base: Path) -> Path:
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
