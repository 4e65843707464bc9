"""`CompactingEngine`: whole-database copies of the DuckDB store (backup, compaction).

Compaction (ADR 0019) copies the database into a new file beside it while appends and
queries go on, and swaps it in under the locks; `compaction` holds the file-level steps.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from pathlib import Path

import duckdb

from llmpulse.clock import SystemClock
from llmpulse.domain.errors import Conflict, Unavailable
from llmpulse.store.events import search_index, summaries, trace_sums
from llmpulse.store.events.compaction import (
    COMPACT_CATALOG,
    CompactionResult,
    FreeSpace,
    compact_path,
    copy_snapshot,
    copy_tail,
    file_size,
    finish_swap,
    free_space,
    mark_done,
    recover,
    remove_leftovers,
    take_marks,
)
from llmpulse.store.events.dedupe import RetryFilter
from llmpulse.store.events.duckdb_engine import DuckDBEngine
from llmpulse.store.events.duckdb_open import CATALOG, ROW_GROUP_SIZE, connect, quote, wal_path

log = logging.getLogger(__name__)


class CompactingEngine(DuckDBEngine):
    """A `DuckDBEngine` that can copy itself: a backup file, or a compaction swapped in."""

    _warned_disk = False
    """A compaction was not started for want of disk (logged once)."""

    def backup_to(self, target: Path) -> int:
        """Copy the database to a new file ``target`` as of one snapshot; returns its spans.

        ``COPY FROM DATABASE`` runs in one read transaction on a reader cursor, so the copy
        is consistent while ingest keeps committing (MVCC): nothing waits for it.
        """
        with self._swap.shared():  # a compaction does not swap the file out under the copy
            cur = self._reader()
            cur.execute(f"ATTACH '{quote(str(target))}' AS backup_target (ROW_GROUP_SIZE 16384)")
            try:
                cur.execute(f"COPY FROM DATABASE {CATALOG} TO backup_target")
                (n,) = cur.execute("SELECT count(*) FROM backup_target.spans").fetchall()[0]
                cur.execute("CHECKPOINT backup_target")
            finally:
                cur.execute("DETACH backup_target")
        return int(n)

    def free_space(self) -> FreeSpace:
        """Block counts and size of the database file."""
        with self._swap.shared():
            cur = self._reader()
            return free_space(cur, CATALOG, self._path) if self._path else FreeSpace(0, 0, 0)

    def compact(self) -> CompactionResult | None:
        """Rewrite the database into a new file without free blocks and swap it in.

        Appends and queries go on during the copy; they wait only while the rows appended
        meanwhile are copied and the files are swapped. None for an in-memory store.

        Raises:
            Conflict: a compaction is already running.
            Unavailable: the disk has less room than the copy needs (`FreeSpace.disk_needed`).
        """
        if self._path is None:
            return None
        if not self._compacting.acquire(blocking=False):
            raise Conflict("a compaction of the event store is already running")
        try:
            need, free = self._disk_room()
            if free < need:
                raise Unavailable(
                    f"compacting the event store needs {need:,} bytes of free disk beside "
                    f"{self._path.name}; {free:,} are free"
                )
            return self._compact(self._path)
        finally:
            self._compacting.release()

    def compact_if_fragmented(self) -> bool:
        """Start a background compaction if the free share of the file, beyond the working
        space that streaming ingest keeps free anyway (ADR 0042), passes the threshold.

        Returns:
            True when a compaction was started.
        """
        if self._path is None or self._closed:
            return False
        space = self.free_space()
        if space.bytes_on_disk < self._compact_min_bytes:
            return False
        # Unmarked: the writer's own upkeep must not count as a query (ADR 0041).
        (num_spans,) = self._read_unmarked(
            lambda cur: cur.execute("SELECT count(*) FROM spans").fetchall()
        )[0]
        if not space.worth_compacting(
            int(num_spans),
            free_ratio=self._compact_free_ratio,
            slack_row_groups=self._compact_slack_row_groups,
            row_group_size=ROW_GROUP_SIZE,
        ):
            return False
        need, free = self._disk_room(space)
        if free < need:
            if not self._warned_disk:  # once: the writer asks after every checkpoint
                log.warning(
                    "the event store has %.0f %% free blocks, but compacting it needs %d MB "
                    "of free disk and %d MB are free: not compacted",
                    space.free_ratio * 100,
                    need >> 20,
                    free >> 20,
                )
                self._warned_disk = True
            return False
        if not self._compacting.acquire(blocking=False):
            return False
        log.info(
            "compacting the event store: %.0f %% of its blocks are free", space.free_ratio * 100
        )
        self._compact_thread = threading.Thread(
            target=self._compact_in_background, name="llmpulse-compact", daemon=True
        )
        self._compact_thread.start()
        return True

    def _disk_room(self, space: FreeSpace | None = None) -> tuple[int, int]:
        """(bytes a compaction needs, bytes free on the disk holding the file)."""
        if self._path is None:
            return 0, 0
        space = self.free_space() if space is None else space
        return space.disk_needed(), shutil.disk_usage(self._path.parent).free

    def _compact_in_background(self) -> None:
        try:
            if self._path is not None:
                done = self._compact(self._path)
                log.info(
                    "event store compacted: %d -> %d bytes", done.bytes_before, done.bytes_after
                )
        except Exception:
            if not self._closed:
                log.exception("event store compaction failed")
        finally:
            self._compacting.release()

    def _compact(self, path: Path) -> CompactionResult:
        self.summary_upkeep.wait_built()  # the build reads the file that is swapped out
        target = compact_path(path)
        remove_leftovers(path)
        bytes_before = file_size(path) + file_size(wal_path(path))
        # The migrations make the schema; the search index starts empty in the new file and is
        # rebuilt behind ingest (ADR 0038: copying its rows left free blocks in the copy).
        schema, _, _ = connect(target, self._memory_limit)
        for sql in search_index.TABLES:
            schema.execute(sql)
        schema.close()
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            self._con.execute(
                f"ATTACH '{quote(str(target))}' AS {COMPACT_CATALOG} "
                f"(ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
            )
            cur = self._compact_cursor = self._con.cursor()
            marks = take_marks(cur, CATALOG)  # no append is in flight: a clean snapshot
        try:
            copy_snapshot(cur, CATALOG, marks)
            with self._write_lock:  # catch up with the rows appended meanwhile
                first, marks = marks, take_marks(cur, CATALOG)
                self._con.execute(f"CHECKPOINT {CATALOG}")  # a short log for the swap
                if self._journal is not None:
                    self._journal.reset()  # the data file holds every committed row now
                self._after_commit()
            copy_snapshot(cur, CATALOG, marks, after=first)
            with self._swap.exclusive(), self._write_lock:
                paused_at = SystemClock().monotonic_s()
                if self._closed:
                    raise Unavailable("event store is closed")
                tail = copy_tail(cur, CATALOG, marks)
                (num_spans,) = cur.execute(f"SELECT count(*) FROM {CATALOG}.spans").fetchall()[0]
                cur.execute(f"CHECKPOINT {COMPACT_CATALOG}")
                self._con.execute(f"DETACH {COMPACT_CATALOG}")
                mark_done(path)
                self._swap_in(path)
                pause_s = SystemClock().monotonic_s() - paused_at
        except BaseException:
            self._abandon_compaction(cur, path)
            raise
        return CompactionResult(bytes_before, file_size(path), int(num_spans), tail, pause_s)

    def _swap_in(self, path: Path) -> None:
        """Close the old database, put the new one in its place and reopen (locks held)."""
        # Every row of the old database is in the new file: detach it without a checkpoint.
        con = self._con
        # Every row of the old file is in the new one; the backlog stays as it is.
        counts = summaries.export(con) if self.sketch_guard.usable else None
        self._con = duckdb.connect(":memory:")  # closed by `_close_engine` in its place
        self._close_engine()
        con.execute("SET checkpoint_on_detach = 'DISABLED'")
        con.execute(f"USE memory; DETACH {CATALOG}")
        # The new connection attaches the traces' totals' file as it is (its log replayed):
        # detached here, no checkpoint under the locks and no write after the hand-over.
        con.execute(f"DETACH DATABASE IF EXISTS {trace_sums.CATALOG}")
        con.close()
        try:
            finish_swap(path)
        finally:
            recover(path)  # roll a half-finished swap forward (the marker is written)
            self._con, self._schema_version, _ = connect(path, self._memory_limit)
            self._generation += 1
            self._retries = RetryFilter(self._con)  # it reads through the new connection
            # The new connection's memory starts empty; the traces' totals' file is as the
            # old connection left it.
            if counts is not None:
                try:
                    trace_sums.attach(self._con, path, fresh=False)
                    summaries.build(self._con, self.pair_keys, counts)
                except (duckdb.Error, ValueError) as exc:  # the spans are swapped in: go on
                    self.sketch_guard.spoil()  # counts come from the spans from now on
                    log.warning("carrying the summaries over a compaction failed: %s", exc)
            con_now = self._con
            if self.search_index.enabled:  # the new file's index is empty: rebuilt behind
                self.search_index.refresh(lambda sql, p: con_now.execute(sql, list(p)).fetchall())
        # The new file holds every committed row and has no log: the journal starts empty.
        self._wal_size = file_size(wal_path(path))
        if self._journal is not None:
            self._journal.reset()

    def _abandon_compaction(self, cur: duckdb.DuckDBPyConnection, path: Path) -> None:
        with self._write_lock:
            if not self._closed:
                for sql in ("ROLLBACK", f"DETACH DATABASE IF EXISTS {COMPACT_CATALOG}"):
                    with contextlib.suppress(duckdb.Error):
                        (cur if sql == "ROLLBACK" else self._con).execute(sql)
            self._compact_cursor = None
        remove_leftovers(path)
