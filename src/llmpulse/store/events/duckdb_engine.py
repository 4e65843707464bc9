"""`DuckDBEngine`: the connections, locks and write path under `DuckDBEventStore`.

One write connection serves the ingest writer's thread (appends are serialized by a lock);
every reading thread gets its own cursor on the same database, because a DuckDB connection
is not thread-safe but cursors of one database are independent and see committed data.
An append is one INSERT from an Arrow table, hence one transaction; DuckDB writes and syncs
its WAL at commit, so the spans are durable when `_insert` returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from llmpulse.domain.errors import Unavailable
from llmpulse.store.activity import QUERIES, QueryActivity
from llmpulse.store.events import kept_totals, summary_row, trace_sums
from llmpulse.store.events.columns import ANNOTATION_COLUMN_NAMES
from llmpulse.store.events.compaction import SwapLock, file_size, recover
from llmpulse.store.events.dedupe import RetryFilter
from llmpulse.store.events.duckdb_faults import (
    first_line,
    insert_committed,
    insert_journalled,
    invalidated,
    reattach,
    write_error,
)
from llmpulse.store.events.duckdb_open import (
    CATALOG,
    WalRecovery,
    connect,
    wal_path,
)
from llmpulse.store.events.edge_spans import EdgeSpans, EdgeState
from llmpulse.store.events.journal import (
    IngestJournal,
    JournalRestore,
    journal_path,
    reconcile,
)
from llmpulse.store.events.layout import brought_columns
from llmpulse.store.events.pair_sketch import PairKeys, PairsOfText
from llmpulse.store.events.recent_rows import RecentRows
from llmpulse.store.events.search_index import SearchIndex
from llmpulse.store.events.summary_guard import SketchGuard
from llmpulse.store.events.summary_upkeep import SummaryUpkeep
from llmpulse.store.memory import DEFAULT_MEMORY_LIMIT

log = logging.getLogger(__name__)
_T = TypeVar("_T")
# Compact when at least this share of the file's blocks is free (ADR 0019): 300 commits of
# 300 spans left 30 % free, the layout migration about half.
DEFAULT_COMPACT_FREE_RATIO = 0.25
# ... and the file is at least this large (a small file is not worth a rewrite).
DEFAULT_COMPACT_MIN_BYTES = 64 * 1024 * 1024
DEFAULT_COMPACT_SLACK_ROW_GROUPS = 3  # ... beyond streaming's working space (ADR 0042)
# Checkpoint once the ingest journal holds this much: DuckDB writes large appends straight
# into the data file and logs only their blocks, so its log (and the automatic checkpoint
# that empties the journal) may never grow while the journal holds every row: 17 GB after
# 4.5M spans loaded in 50,000-span commits.
DEFAULT_JOURNAL_MAX_BYTES = 256 * 1024 * 1024
SPARE_CURSORS = 4
"""Reader cursors kept ready for threads' first reads (`DuckDBEngine._reader`)."""
SIDE_READERS = 4
"""Threads for reads run beside a query's own (`DuckDBEngine._side_reads`; made on first use)."""


@dataclass(frozen=True, slots=True)
class Pinned:
    """What a pinned read reads besides its snapshot (`DuckDBEngine._pinned_read`)."""

    pending: pa.Table | None
    """The backlog of the snapshot's moment: committed spans the summaries lack."""
    sketch_version: int
    """`SketchGuard.sketch_version` at that moment."""
    counted: Callable[[str, str], bool]
    """Which metadata keys the pair sketch counted then (`PairKeys.counted`)."""
    edges: EdgeState | None = None
    """The span sketch's spans' starts and bins at that moment (ADR 0066); None: none kept."""
    snapshot: bool = False
    """Whether the read runs in a DuckDB snapshot taken at that moment (ADR 0050); False:
    it reads the tables as they are (`SketchGuard.read_pinned`'s first attempt)."""


class DuckDBEngine:
    """One DuckDB database (file or memory): cursors per thread, serialized appends."""

    def __init__(
        self,
        path: Path | None,
        *,
        on_close: Callable[[], None] | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        journal: bool = True,
        search_index: bool = True,
        compact_free_ratio: float = DEFAULT_COMPACT_FREE_RATIO,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
        compact_slack_row_groups: int = DEFAULT_COMPACT_SLACK_ROW_GROUPS,
        journal_max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES,
        activity: QueryActivity = QUERIES,
    ) -> None:
        """Open (creating if needed) the database and bring its schema up to date.

        Args:
            path: the database file; None keeps everything in memory (tests).
            on_close: called once after the engine is closed (releases a data-dir lock).
            memory_limit: DuckDB's buffer pool bound.
            journal: keep the ingest journal beside a database file (see `journal`).
            compact_free_ratio: `compact_if_fragmented` compacts from this free share on.
            compact_min_bytes: ... and only files at least this large.
            compact_slack_row_groups: ... free beyond this many row groups' worth (ADR 0042).
            journal_max_bytes: checkpoint after a commit that leaves the journal this large.
            search_index: keep the search index (ADR 0038); off, searches scan every span.
            activity: marked by every read; the search indexer yields to it (ADR 0041).
        """
        self._path = path
        self._on_close = on_close
        self._memory_limit = memory_limit
        self._compact_free_ratio = compact_free_ratio
        self._compact_min_bytes = compact_min_bytes
        self._compact_slack_row_groups = compact_slack_row_groups
        self._journal_max_bytes = journal_max_bytes
        if path is not None:
            recover(path)  # finish or undo a compaction that a crash interrupted
        self._con, self._schema_version, recovery = connect(path, memory_limit)
        try:
            # (Before anything writes the events: a crash from here on leaves no stamp.)
            stamp = None if path is None else kept_totals.take(self._con)
        except BaseException:
            self._con.close()
            raise
        self.wal_recovery: WalRecovery | None = recovery
        """What replaying a damaged write-ahead log at open recovered and lost (None: intact)."""
        self.journal_restore: JournalRestore | None = None
        """What the ingest journal put back at open (None: it was empty or is off)."""
        self._journal: IngestJournal | None = None
        self._journal_thread = ThreadPoolExecutor(1, thread_name_prefix="llmpulse-journal")
        self._side_reads = ThreadPoolExecutor(SIDE_READERS, thread_name_prefix="llmpulse-side")
        """Reads that run beside a query's own (a page's trace totals beside its rows)."""
        self._wal_size = 0
        if path is not None and journal:
            try:
                self.journal_restore = reconcile(self._con, path)
                self._journal = IngestJournal(journal_path(path))
            except BaseException:
                self._con.close()
                raise
            self._wal_size = file_size(wal_path(path))
        restored = self.journal_restore is not None and self.journal_restore.spans > 0
        try:
            kept = kept_totals.reopen(
                self._con, path, None if recovery is not None or restored else stamp
            )
        except BaseException:
            self._con.close()
            raise
        self.totals_kept = kept
        """Whether the traces' totals were kept from the last clean close (ADR 0074)."""
        self._retries = RetryFilter(self._con)
        self.pair_keys = PairKeys()
        """Which metadata keys the pair sketch counts (ADR 0036)."""
        self.reattaches = 0
        """Times the database was re-attached after DuckDB invalidated it (failed checkpoint)."""
        self._write_lock = threading.Lock()
        self._swap = SwapLock()
        self._generation = 0
        self.sketch_guard = SketchGuard(ready=False)
        """Whether the summaries hold the committed spans (every change of them goes
        through it); ready once they are built behind the open (ADR 0039)."""
        self.edge_spans = EdgeSpans()
        """The span sketch's spans' starts and bins, for its edge slots (ADR 0066)."""
        self.recent_rows = RecentRows()
        """Stored spans' rows held for newest pages (ADR 0067)."""
        self.summary_upkeep = SummaryUpkeep(
            self.sketch_guard,
            self.pair_keys,
            PairsOfText(),
            self._locked_write,
            after_apply=self._after_summaries,
            edges=self.edge_spans,
            recent=self.recent_rows,
            totals_kept=kept,
        )
        """The summaries (ADRs 0021, 0035, 0036) in memory, built from the stored spans behind
        the open and kept behind ingest (ADR 0039)."""
        self._compacting = threading.Lock()
        self._compact_cursor: duckdb.DuckDBPyConnection | None = None
        self._compact_thread: threading.Thread | None = None
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._spares: list[tuple[int, duckdb.DuckDBPyConnection]] = []
        """Cursors made under the writer's lock while it was held anyway, with their
        generation: a thread's first read takes one instead of waiting for the lock behind a
        commit, an index round or a checkpoint (it waited up to ~150 ms after a bulk load)."""
        self._closed = False
        self._top_up_spares()
        self.activity = activity
        """Queries in flight: every read marks it, background work yields to it (ADR 0041)."""
        self.search_index = SearchIndex(self._read_unmarked, self._locked_write, activity)
        """The term → block search index, kept behind ingest (ADR 0038)."""
        self.search_index.enabled = search_index
        try:
            self.search_index.open(self._con, refresh=search_index)
        except BaseException:
            self._con.close()
            raise
        if search_index:
            self.search_index.start()
        self.summary_upkeep.start()

    # -- connections -------------------------------------------------------------------

    def _reader(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise Unavailable("event store is closed")
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None or getattr(self._local, "generation", -1) != self._generation:
            generation, cur = self._spare()
            if cur is None:
                # Under the write lock: `cursor()` must not run while an insert uses `_con`.
                with self._write_lock:
                    if self._closed:
                        raise Unavailable("event store is closed")
                    cur = self._new_cursor()
                    generation = self._generation
            self._local.cursor = cur
            self._local.generation = generation
        return cur

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new reader cursor on the write connection (under the writer's lock)."""
        cur = self._con.cursor()
        cur.execute(f"USE {CATALOG}")  # a cursor starts in the empty in-memory catalog
        self._cursors.append(cur)
        return cur

    def _spare(self) -> tuple[int, duckdb.DuckDBPyConnection | None]:
        """A spare cursor of the current generation, if one is left (no lock taken)."""
        while True:
            try:
                generation, cur = self._spares.pop()  # atomic: readers race for spares
            except IndexError:
                return -1, None
            if generation == self._generation:
                return generation, cur

    def _top_up_spares(self) -> None:
        """Make spare cursors up to `SPARE_CURSORS` (under the writer's lock, or before any
        other thread uses the store); none once every reader thread has its own."""
        while len(self._spares) < SPARE_CURSORS and not self._closed:
            self._spares.append((self._generation, self._new_cursor()))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query on this thread's cursor; rows that begin with a summary row
        (`summary_row.MARK`) expanded to the span columns."""

        def run(cur: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = cur.execute(sql, list(params)).fetchall()
            described = cur.description
            if rows and described and described[0][0] == summary_row.MARK:
                return summary_row.expand(rows)
            return rows

        return self._read(run)

    def _query_arrow(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The result of one query as an Arrow table (for columnar decoding)."""
        return self._read(lambda cur: cur.sql(sql, params=list(params)).to_arrow_table())

    def _read(self, run: Callable[[duckdb.DuckDBPyConnection], _T]) -> _T:
        with self.activity.running():  # background work yields to it (ADR 0041)
            return self._read_unmarked(run)

    def _pinned_read(self, pin_sql: str, query: Callable[[Pinned], _T]) -> _T | None:
        """``query(pinned)`` read while no change of the spans or the summaries is in flight,
        with the backlog of that moment; when a change overlapped the first read, every read
        this thread makes inside ``query`` runs on one DuckDB snapshot of such a moment
        (`SketchGuard.read_pinned`, ADR 0050). None when no such moment came (the spans
        answer then).

        ``pin_sql`` reads nothing from every database ``query`` reads (DuckDB starts each
        attached database's snapshot when a transaction first touches it). The transaction
        only reads; it is rolled back. A DuckDB error, or a re-attach meanwhile (its reads
        left the snapshot), gives None: the spans answer."""
        if getattr(self._local, "pinned", False):  # a pinned read inside one: not pinned
            return None
        with self.activity.running(), self._swap.shared():  # no swap until it is over
            cur = self._reader()
            generation = self._generation
            begun = False

            def pin(sketch_version: int, snapshot: bool) -> Pinned:
                nonlocal begun
                if not snapshot:
                    return Pinned(
                        self.summary_upkeep.pending(),
                        sketch_version,
                        self.pair_keys.counted,
                        self.edge_spans.state,
                    )
                cur.execute("BEGIN TRANSACTION")
                begun = True
                cur.execute(pin_sql).fetchall()
                keys = self.pair_keys.as_of_now()
                pending = self.summary_upkeep.pending()
                return Pinned(pending, sketch_version, keys, self.edge_spans.state, snapshot=True)

            self._local.pinned = True
            try:
                done, answer = self.sketch_guard.read_pinned(pin, query)
            except duckdb.Error:
                return None
            finally:
                self._local.pinned = False
                if begun:
                    with suppress(duckdb.Error):  # (a cursor a re-attach closed meanwhile)
                        cur.execute("ROLLBACK")
            if self._generation != generation:
                return None
        return answer if done else None

    def _read_unmarked(self, run: Callable[[duckdb.DuckDBPyConnection], _T]) -> _T:
        """`_read` for background work, which must not hold itself back."""
        # The swap lock keeps a compaction from replacing the file under a running query.
        with self._swap.shared():
            generation = self._generation
            try:
                return run(self._reader())
            except duckdb.OutOfMemoryException as exc:
                raise Unavailable(
                    "the query needs more memory than the event store may use "
                    f"({self._memory_limit}, shared with the queries running now); "
                    "try again, or narrow its time range or filters",
                    retry_after_s=2,
                ) from exc
            except duckdb.Error as exc:
                if invalidated(exc):
                    self._reattach(exc)  # a checkpoint failed (disk full): re-attach
                elif self._generation == generation:
                    raise
                # Re-attached, here or by another thread meanwhile (which closed this
                # thread's cursor under the read): ask again on a new cursor.
                if getattr(self._local, "pinned", False):
                    raise  # not on a new cursor: outside the pinned snapshot
                return run(self._reader())

    def _reattach(self, cause: BaseException) -> None:
        """Re-attach the file after DuckDB invalidated it (see `duckdb_faults.reattach`);
        reads work at once and writes as soon as the disk has room again (no restart).

        Raises:
            Unavailable: the file cannot be attached again (yet).
        """
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            if not reattach(self._con, self._path):
                return
            log.warning("event store was invalidated (%s); re-attached it", first_line(cause))
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
            self._spares.clear()
            self._generation += 1
            self.reattaches += 1

    def _insert(self, table: str, batch: Any) -> int:
        """Append ``batch`` to ``table``; spans already stored are skipped. Returns the rows
        written."""
        names = tuple(batch.column_names)
        if table == "spans" and brought_columns(names) is None:
            raise ValueError(f"span batch columns {names} are not the span columns")
        if table == "annotations" and names != ANNOTATION_COLUMN_NAMES:
            raise ValueError(f"annotation batch columns {names} are not {ANNOTATION_COLUMN_NAMES}")
        spans = table == "spans"
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            # The insert appends the derived span columns; the journal, when on, holds
            # each batch before DuckDB commits it (ADR 0018).
            try:
                if spans:
                    batch = self._retries.new_spans(self._con, batch)  # a retry is stored once
                if not batch.num_rows:
                    return 0
                if spans and self.search_index.enabled:  # dirty before the commit: a
                    self.search_index.touch(batch)  # search never misses a committed span
                # The summaries' guard brackets only the COMMIT and the queueing (ADR
                # 0050): readers of the summaries wait for no insert or journal write.
                committing = partial(self._committing, batch) if spans else nullcontext
                if self._journal is None:
                    insert_committed(self._con, table, batch, committing)
                else:
                    j = self._journal
                    insert_journalled(self._con, j, self._journal_thread, table, batch, committing)
                self._after_commit()
            except duckdb.Error as exc:
                failure = exc
            else:
                return int(batch.num_rows)
        raise self._write_failed(failure)

    @contextmanager
    def _committing(self, batch: Any) -> Iterator[None]:
        """The COMMIT of a batch of spans and its queueing for the summaries (which add it
        behind ingest, ADR 0039), as one change of the spans: no reader of the summaries
        sees the spans stored but not queued. A failed COMMIT spoils the summaries (DuckDB
        may fail one after it wrote)."""
        with self.sketch_guard.changing(summaries=False):
            yield
            with self.sketch_guard.queueing():  # what readers of memory alone wait for
                self.summary_upkeep.committed(batch)
                self.recent_rows.committed(batch)

    def _locked_write(self, write: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        """Run ``write`` on the write connection under the writer's lock (a search-index
        transaction, the summaries' upkeep), then what follows every commit.

        Raises:
            Unavailable: the store is closed.
        """
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            write(self._con)
            self._after_commit()

    def _after_summaries(self) -> None:
        """Run on the summaries' thread after they took in new spans (the event store takes
        its copies of them again here)."""

    def catch_up(self) -> int:
        """Wait for the summaries' build and add every committed batch to them now (tests,
        benchmarks); returns how many batches were added."""
        return self.summary_upkeep.catch_up()

    def _after_commit(self) -> None:
        """Empty the journal when DuckDB's automatic checkpoint emptied its log; make spare
        reader cursors while the writer's lock is held anyway."""
        self._top_up_spares()
        if self._journal is None or self._path is None:
            return
        wal = file_size(wal_path(self._path))
        if wal < self._wal_size:
            self._journal.reset()
        elif self._journal.size >= self._journal_max_bytes:
            try:
                self._con.execute(f"CHECKPOINT {CATALOG}")
            except duckdb.Error as exc:  # the journal stays: nothing is lost, retried later
                log.warning("checkpoint to empty the ingest journal failed: %s", first_line(exc))
            else:
                self._journal.reset()
                wal = file_size(wal_path(self._path))
        self._wal_size = wal

    def _write_failed(self, exc: duckdb.Error) -> Unavailable:
        """The error for a failed write; re-attaches first when DuckDB invalidated the file."""
        if invalidated(exc):
            try:
                self._reattach(exc)
            except Unavailable as again:
                log.warning("%s", again.detail)
        return write_error(exc)

    def warnings(self) -> list[str]:
        """The damaged-log report of this open, re-attaches after invalidation, and summaries
        put out of use."""
        notes = [self.wal_recovery.message()] if self.wal_recovery else []
        if self.journal_restore is not None:
            notes.extend(self.journal_restore.messages())
        if self.reattaches:
            notes.append(
                f"the event store was re-attached {self.reattaches} time(s) after DuckDB "
                "invalidated it (a checkpoint failed, e.g. on a full disk)"
            )
        if self.sketch_guard.spoiled and not self._closed:
            notes.append(
                "the summaries are out of use since a change of them failed (see the log): "
                "counts, quantiles and trace-sorted pages read the spans, slower, until the "
                "next start builds them again"
            )
        return notes

    def checkpoint(self) -> None:
        """Write the WAL's rows into the compressed file (DuckDB CHECKPOINT)."""
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            try:
                self._con.execute(f"CHECKPOINT {CATALOG}")
            except duckdb.Error as exc:
                failure = exc
            else:
                if self._journal is not None:
                    self._journal.reset()  # the data file holds every committed row now
                self._after_commit()
                return
        raise self._write_failed(failure)

    def _close_engine(self) -> None:
        if self._compact_cursor is not None:
            self._compact_cursor.close()
            self._compact_cursor = None
        for cur in self._cursors:
            cur.close()
        self._cursors.clear()
        self._spares.clear()
        self._con.close()

    def close(self) -> None:
        """Stop a running compaction, checkpoint, close every cursor and the engine; safe to
        call twice."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            if self._compact_cursor is not None:
                self._compact_cursor.interrupt()
        thread = self._compact_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.search_index.stop()  # after the compaction, which may hold indexing back
        self.summary_upkeep.stop()
        self._side_reads.shutdown(cancel_futures=True)  # (outside the writer's lock, which
        # a side read may wait for; it finds the store closed)
        with self._write_lock:
            kept = (
                self._path is not None
                and not self.reattaches  # (after an invalidated file: built again)
                and self.summary_upkeep.keep_totals(self._con)
            )
            self._close_engine()
            if self._path is not None and not kept:
                trace_sums.remove(self._path)  # rebuilt behind the next open
            if self._journal is not None and self._path is not None:
                if not file_size(wal_path(self._path)):
                    self._journal.reset()  # closing checkpointed: the file holds it all
                self._journal.close()
            self._journal_thread.shutdown()
        if self._on_close is not None:
            self._on_close()
