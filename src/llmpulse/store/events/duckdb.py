"""`DuckDBEventStore`: the embedded event store, and the DuckDB SQL dialect.

One write connection serves the ingest writer's thread (appends are serialized by a lock);
every reading thread gets its own cursor on the same database, because a DuckDB connection
is not thread-safe but cursors of one database are independent and see committed data.
An append is one INSERT from an Arrow table, hence one transaction; DuckDB writes and syncs
its WAL at commit, so the spans are durable when `append_spans` returns.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from llmpulse.clock import SystemClock
from llmpulse.domain.errors import Conflict, Unavailable
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Annotation, Span
from llmpulse.store.api import (
    MetricFrame,
    MetricQuery,
    Page,
    ProjectStats,
    SampleQuery,
    SliceFrame,
    SliceQuery,
    SpanQuery,
    StoreStats,
    TraceTotals,
    UnitFrame,
    UnitQuery,
)
from llmpulse.store.events import annotation_edits, listing, purge, vocabulary
from llmpulse.store.events import sessions as sessions_sql
from llmpulse.store.events.codec import (
    annotations_to_arrow,
    row_to_annotation,
    row_to_span,
    spans_to_arrow,
)
from llmpulse.store.events.columns import ANNOTATION_COLUMN_NAMES, SPAN_COLUMN_NAMES
from llmpulse.store.events.compaction import (
    COMPACT_CATALOG,
    CompactionResult,
    FreeSpace,
    SwapLock,
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
from llmpulse.store.events.compiler import (
    add_cursor,
    compile_filters,
    encode_cursor,
    to_naive_utc,
)
from llmpulse.store.events.dedupe import RetryFilter
from llmpulse.store.events.duckdb_faults import (
    first_line,
    insert_journalled,
    insert_rows,
    invalidated,
    reattach,
    write_error,
)
from llmpulse.store.events.duckdb_open import (
    CATALOG,
    DEFAULT_MEMORY_LIMIT,
    ROW_GROUP_SIZE,
    WalRecovery,
    connect,
    quote,
    wal_path,
)
from llmpulse.store.events.journal import (
    IngestJournal,
    JournalRestore,
    journal_path,
    reconcile,
)
from llmpulse.store.events.metrics import compile_metric, compile_sample, compile_slices
from llmpulse.store.events.per_unit import UNPRICED_SQL
from llmpulse.store.events.results import _aware, metric_frame, slice_frame
from llmpulse.store.events.units import compile_units, unit_frame
from llmpulse.store.sessions_api import SessionQuery, SessionRow, Turn, UserRow

log = logging.getLogger(__name__)
_SPAN_COLS = ", ".join(SPAN_COLUMN_NAMES)
_ANN_COLS = ", ".join(ANNOTATION_COLUMN_NAMES)
_NEWEST_FIRST = "ORDER BY start_time DESC, span_id DESC"
_START = SPAN_COLUMN_NAMES.index("start_time")
_SPAN_ID = SPAN_COLUMN_NAMES.index("span_id")
# Compact when at least this share of the file's blocks is free (ADR 0019): 300 commits of
# 300 spans left 30 % free, the layout migration about half.
DEFAULT_COMPACT_FREE_RATIO = 0.25
# ... and the file is at least this large (a small file is not worth a rewrite).
DEFAULT_COMPACT_MIN_BYTES = 64 * 1024 * 1024


class DuckDBDialect:
    """DuckDB's SQL fragments for the query compiler."""

    name = "duckdb"

    def json_string(self, column: str) -> str:
        """JSON value at a bound path, as text."""
        return f"json_extract_string({column}, ?)"

    def contains(self, column: str) -> str:
        """Substring test (memmem; no pattern semantics)."""
        return f"contains({column}, ?)"

    def list_contains(self, column: str) -> str:
        """Membership in a LIST column."""
        return f"list_contains({column}, ?)"

    def ilike(self, column: str) -> str:
        """Case-insensitive LIKE with a backslash escape."""
        return f"{column} ILIKE ? ESCAPE '\\'"

    def search(self, column: str) -> str:
        """Lower-cased ``column`` holds the lower-cased text (memmem, no pattern semantics)."""
        return f"contains({column}, lower(?))"

    def bucket(self, width_s: int) -> str:
        """Epoch-aligned bucket number of ``start_time``: an integer, grouped on faster than
        ``time_bucket``'s timestamps (hourly counts over 1M spans: 12-29 ms instead of
        27-41 ms, paired). The offset, a whole number of buckets, keeps every instant from
        year 1 on non-negative, so integer division floors."""
        w = int(width_s) * 1_000_000
        return f"((epoch_us(spans.start_time) + {_bucket_offset(w)}) // {w})"

    def bucket_start(self, key: str, width_s: int) -> str:
        """The bucket's start (UTC timestamp) from its number (see `bucket`)."""
        w = int(width_s) * 1_000_000
        return f"make_timestamp({key} * {w} - {_bucket_offset(w)})"

    def quantile(self, expr: str, q: float) -> str:
        """Exact quantile, linear interpolation (numpy's default)."""
        return f"quantile_cont({expr}, {float(q)!r})"

    def quantiles(self, expr: str, qs: Sequence[float]) -> str:
        """Exact quantiles (one sort), as a list indexed from 1."""
        return f"quantile_cont({expr}, [{', '.join(repr(float(q)) for q in qs)}])"

    def number_at(self, column: str) -> str:
        """JSON value at a bound path, as a double or NULL."""
        return f"TRY_CAST(json_extract_string({column}, ?) AS DOUBLE)"

    def document_score(self) -> str:
        """Mean score of the retrieved documents."""
        return (
            "list_avg(list_transform(json_extract_string(spans.documents, '$[*].score'), "
            "lambda x: TRY_CAST(x AS DOUBLE)))"
        )

    def sample(self, rows: int, seed: int) -> str:
        """Reservoir sample, repeatable."""
        return f"USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE ({int(seed)})"


DIALECT = DuckDBDialect()
# Microseconds from 0001-01-01 to 1970-01-01: instants the store can hold are not earlier.
_YEAR_ONE_US = 62_135_596_800_000_000


def _bucket_offset(width_us: int) -> int:
    return -(-_YEAR_ONE_US // width_us) * width_us


class DuckDBEventStore:
    """An `EventStore` in one DuckDB file (or in memory when ``path`` is None)."""

    def __init__(
        self,
        path: Path | None,
        *,
        on_close: Callable[[], None] | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        journal: bool = True,
        compact_free_ratio: float = DEFAULT_COMPACT_FREE_RATIO,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
    ) -> None:
        """Open (creating if needed) the database and bring its schema up to date.

        Args:
            path: the database file; None keeps everything in memory (tests).
            on_close: called once after the engine is closed (releases a data-dir lock).
            memory_limit: DuckDB's buffer pool bound.
            journal: keep the ingest journal beside a database file (see `journal`).
            compact_free_ratio: `compact_if_fragmented` compacts from this free share on.
            compact_min_bytes: ... and only files at least this large.
        """
        self._path = path
        self._on_close = on_close
        self._memory_limit = memory_limit
        self._compact_free_ratio = compact_free_ratio
        self._compact_min_bytes = compact_min_bytes
        if path is not None:
            recover(path)  # finish or undo a compaction that a crash interrupted
        self._con, self._schema_version, recovery = connect(path, memory_limit)
        self.wal_recovery: WalRecovery | None = recovery
        """What replaying a damaged write-ahead log at open recovered and lost (None: intact)."""
        self.journal_restore: JournalRestore | None = None
        """What the ingest journal put back at open (None: it was empty or is off)."""
        self._journal: IngestJournal | None = None
        self._journal_thread = ThreadPoolExecutor(1, thread_name_prefix="llmpulse-journal")
        self._wal_size = 0
        if path is not None and journal:
            try:
                self.journal_restore = reconcile(self._con, path)
                self._journal = IngestJournal(journal_path(path))
            except BaseException:
                self._con.close()
                raise
            self._wal_size = file_size(wal_path(path))
        self._retries = RetryFilter(self._con)
        self.reattaches = 0
        """Times the database was re-attached after DuckDB invalidated it (failed checkpoint)."""
        self._write_lock = threading.Lock()
        self._swap = SwapLock()
        self._generation = 0
        self._compacting = threading.Lock()
        self._compact_cursor: duckdb.DuckDBPyConnection | None = None
        self._compact_thread: threading.Thread | None = None
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._closed = False

    # -- connections -------------------------------------------------------------------

    def _reader(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise Unavailable("event store is closed")
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None or getattr(self._local, "generation", -1) != self._generation:
            # Under the write lock: `cursor()` must not run while an insert uses `_con`.
            with self._write_lock:
                if self._closed:
                    raise Unavailable("event store is closed")
                cur = self._con.cursor()
                cur.execute(f"USE {CATALOG}")  # a cursor starts in the empty in-memory catalog
                self._cursors.append(cur)
            self._local.cursor = cur
            self._local.generation = self._generation
        return cur

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # The swap lock keeps a compaction from replacing the file under a running query.
        with self._swap.shared():
            try:
                rows: list[tuple[Any, ...]] = self._reader().execute(sql, list(params)).fetchall()
            except duckdb.Error as exc:
                if not invalidated(exc):
                    raise
                self._reattach(exc)  # a checkpoint failed (disk full): re-attach, ask again
                rows = self._reader().execute(sql, list(params)).fetchall()
        return rows

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
            self._generation += 1
            self.reattaches += 1

    def _insert(self, table: str, columns: tuple[str, ...], batch: Any) -> int:
        """Append ``batch`` to ``table``; spans already stored are skipped. Returns the rows
        written."""
        if tuple(batch.column_names) != columns:
            raise ValueError(f"{table} batch columns {batch.column_names} are not {columns}")
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            # `insert_rows` appends the derived span columns; the journal, when on, holds
            # each batch before DuckDB commits it (ADR 0018).
            try:
                if table == "spans":
                    batch = self._retries.new_spans(self._con, batch)  # a retry is stored once
                if not batch.num_rows:
                    return 0
                if self._journal is None:
                    insert_rows(self._con, table, batch)
                else:
                    insert_journalled(self._con, self._journal, self._journal_thread, table, batch)
            except duckdb.Error as exc:
                failure = exc
            else:
                self._after_commit()
                return int(batch.num_rows)
        raise self._write_failed(failure)

    def _after_commit(self) -> None:
        """Empty the journal when DuckDB's automatic checkpoint emptied its log."""
        if self._journal is None or self._path is None:
            return
        wal = file_size(wal_path(self._path))
        if wal < self._wal_size:
            self._journal.reset()
        self._wal_size = wal

    def _write_failed(self, exc: duckdb.Error) -> Unavailable:
        """The error for a failed write; re-attaches first when DuckDB invalidated the file."""
        if invalidated(exc):
            try:
                self._reattach(exc)
            except Unavailable as again:
                log.warning("%s", again.detail)
        return write_error(exc)

    # -- writes ------------------------------------------------------------------------

    def append_spans(self, spans: Sequence[Span]) -> int:
        """Store spans in one transaction; durable when it returns.

        Copies of spans already stored (same project, trace, span id and start time: an
        exporter's retry) are skipped, see `dedupe`. Returns the spans newly stored.
        """
        if not spans:
            return 0
        return self._insert("spans", SPAN_COLUMN_NAMES, spans_to_arrow(spans))

    def append_columns(self, table: Any) -> int:
        """Store spans given as an Arrow table with the span columns (see `codec`); copies
        of stored spans are skipped as in `append_spans`. Returns the spans newly stored."""
        if table.num_rows == 0:
            return 0
        return self._insert("spans", SPAN_COLUMN_NAMES, table)

    def append_annotations(self, annotations: Sequence[Annotation]) -> int:
        """Store annotations in one transaction; durable when it returns."""
        if not annotations:
            return 0
        return self._insert(
            "annotations", ANNOTATION_COLUMN_NAMES, annotations_to_arrow(annotations)
        )

    def _delete_sql(self, sql: str, params: Sequence[Any]) -> int:
        """Run one DELETE in its own transaction on this thread's cursor, not under the write
        lock: DuckDB's MVCC lets appends (of other rows) commit meanwhile."""
        rows = self._query(sql, params)
        return int(rows[0][0]) if rows else 0

    def delete_spans(self, project: ProjectName, before: datetime | None = None) -> int:
        """Delete a project's spans (all, with its annotations; or those that started before
        ``before``) in chunks that let other appends through (see `purge`). Returns how many
        spans went."""
        cut = None if before is None else to_naive_utc(before)
        n = purge.delete_spans(self._delete_sql, *purge.where_of(project, cut))
        if before is None:
            n_ann = purge.delete_annotations(self._delete_sql, project)
        if n or (before is None and n_ann):
            self.checkpoint()  # the journal must not bring the deleted rows back
        return n

    # -- reads -------------------------------------------------------------------------

    def list_spans(self, q: SpanQuery) -> Page[Span]:
        """List spans matching ``q``, newest first, one page at a time.

        Raises:
            InvalidInput: a filter, the limit or the cursor is not acceptable.
        """
        where = compile_filters(q, DIALECT)
        if not listing.newest_first(q):
            rows, after = listing.sorted_rows(self._query, q, where, _SPAN_COLS)
            return Page(items=_unique_spans(rows), next_cursor=after)
        listing.add_ranges(where, q)
        add_cursor(where, q.cursor)
        rows = self._query(
            f"SELECT {_SPAN_COLS} FROM spans WHERE {where.sql()} {_NEWEST_FIRST} LIMIT ?",
            [*where.params, q.limit + 1],
        )
        next_cursor = None
        if len(rows) > q.limit:
            rows = rows[: q.limit]
            next_cursor = encode_cursor(rows[-1][_START], rows[-1][_SPAN_ID])
        return Page(items=_unique_spans(rows), next_cursor=next_cursor)

    def count_spans(self, q: SpanQuery) -> int:
        """How many spans match ``q``'s filters (its cursor and limit are ignored)."""
        return listing.count_rows(self._query, q, compile_filters(q, DIALECT))

    def trace_totals(self, trace_ids: Sequence[TraceId]) -> dict[str, TraceTotals]:
        """Per trace: total tokens, cost, error count and span count over all its spans."""
        return listing.trace_totals(self._query, trace_ids)

    def get_trace(self, trace_id: TraceId) -> list[Span]:
        """Every span of one trace (any project), oldest first."""
        rows = self._query(
            f"SELECT {_SPAN_COLS} FROM spans WHERE trace_id = ? ORDER BY start_time, span_id",
            [trace_id],
        )
        return _unique_spans(rows)

    def get_span(self, span_id: SpanId) -> Span | None:
        """One span by id, or None (the first stored copy if it was sent twice)."""
        rows = self._query(
            f"SELECT {_SPAN_COLS} FROM spans WHERE span_id = ? ORDER BY start_time LIMIT 1",
            [span_id],
        )
        return row_to_span(rows[0]) if rows else None

    def find_prediction(self, project: ProjectName, prediction_id: PredictionId) -> Span | None:
        """The newest span logged under ``prediction_id`` in ``project``, or None."""
        rows = self._query(
            f"SELECT {_SPAN_COLS} FROM spans WHERE project = ? AND prediction_id = ? "
            f"{_NEWEST_FIRST} LIMIT 1",
            [project, prediction_id],
        )
        return row_to_span(rows[0]) if rows else None

    def list_annotations(
        self, span_ids: Sequence[SpanId], prediction_ids: Sequence[PredictionId] = ()
    ) -> list[Annotation]:
        """Annotations attached to any of the spans or prediction ids, oldest first."""
        if not span_ids and not prediction_ids:
            return []
        rows = self._query(
            f"SELECT {_ANN_COLS} FROM annotations "
            "WHERE list_contains(?::VARCHAR[], span_id) "
            "OR list_contains(?::VARCHAR[], prediction_id) ORDER BY created_at, id",
            [list(span_ids), list(prediction_ids)],
        )
        return [row_to_annotation(r) for r in rows]

    def get_annotation(self, annotation_id: str) -> Annotation | None:
        """One annotation by id, or None."""
        return annotation_edits.get(self._query, annotation_id)

    def edit_annotation(self, annotation_id: str, new: Annotation | None) -> bool:
        """Give an annotation ``new``'s label, score, explanation and metadata, or delete it
        (``new`` None); False when there is none. Durable when it returns."""
        done = annotation_edits.edit(self._query, annotation_id, new)
        if done and new is None:
            self.checkpoint()  # the ingest journal must not bring it back after a crash
        return done

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

    def warnings(self) -> list[str]:
        """The damaged-log report of this open, and re-attaches after invalidation."""
        notes = [self.wal_recovery.message()] if self.wal_recovery else []
        if self.journal_restore is not None:
            notes.extend(self.journal_restore.messages())
        if self.reattaches:
            notes.append(
                f"the event store was re-attached {self.reattaches} time(s) after DuckDB "
                "invalidated it (a checkpoint failed, e.g. on a full disk)"
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

    # -- compaction (ADR 0019) ---------------------------------------------------------

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
        """
        if self._path is None:
            return None
        if not self._compacting.acquire(blocking=False):
            raise Conflict("a compaction of the event store is already running")
        try:
            return self._compact(self._path)
        finally:
            self._compacting.release()

    def compact_if_fragmented(self) -> bool:
        """Start a background compaction if the free share of the file passes the threshold.

        Returns:
            True when a compaction was started.
        """
        if self._path is None or self._closed:
            return False
        space = self.free_space()
        if space.bytes_on_disk < self._compact_min_bytes:
            return False
        if space.free_ratio < self._compact_free_ratio:
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
        target = compact_path(path)
        remove_leftovers(path)
        bytes_before = file_size(path) + file_size(wal_path(path))
        schema, _, _ = connect(target, self._memory_limit)  # the migrations make the schema
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
        self._con = duckdb.connect(":memory:")  # closed by `_close_engine` in its place
        self._close_engine()
        con.execute("SET checkpoint_on_detach = 'DISABLED'")
        con.execute(f"USE memory; DETACH {CATALOG}")
        con.close()
        try:
            finish_swap(path)
        finally:
            recover(path)  # roll a half-finished swap forward (the marker is written)
            self._con, self._schema_version, _ = connect(path, self._memory_limit)
            self._generation += 1
            self._retries = RetryFilter(self._con)  # it reads through the new connection
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

    def _close_engine(self) -> None:
        if self._compact_cursor is not None:
            self._compact_cursor.close()
            self._compact_cursor = None
        for cur in self._cursors:
            cur.close()
        self._cursors.clear()
        self._con.close()

    def metric(self, q: MetricQuery) -> MetricFrame:
        """Metrics per (bucket, group); see `MetricQuery`."""
        c = compile_metric(q, DIALECT)
        rows = self._query(c.sql, c.params)
        return metric_frame(q, rows)

    def slices(self, q: SliceQuery) -> SliceFrame:
        """Σ, Σ² and n of one field for every slice of the keys (and pairs)."""
        c = compile_slices(q, DIALECT)
        return slice_frame(q, self._query(c.sql, c.params))

    def sample(self, q: SampleQuery) -> list[float]:
        """A seeded reservoir sample of the field's values."""
        c = compile_sample(q, DIALECT)
        return [float(r[0]) for r in self._query(c.sql, c.params)]

    def units(self, q: UnitQuery) -> UnitFrame:
        """One field per (key value, unit of analysis), or per span (see `UnitQuery`)."""
        c = compile_units(q, DIALECT)
        return unit_frame(q, self._reader().sql(c.sql, params=c.params).to_arrow_table())

    def sessions(self, q: SessionQuery) -> list[SessionRow]:
        """Sessions with their totals (see `store.events.sessions`)."""
        return sessions_sql.list_sessions(self._query, q)

    def session_turns(self, project: ProjectName, session_id: str) -> list[Turn]:
        """One session's turns (see `store.events.sessions`)."""
        return sessions_sql.session_turns(self._query, project, session_id)

    def users(self, q: SessionQuery) -> list[UserRow]:
        """Users with their totals (see `store.events.sessions`)."""
        return sessions_sql.list_users(self._query, q)

    def key_exists(self, project: ProjectName, key: str) -> bool:
        """Whether ``key`` is a typed key or any span of the project carries it."""
        return vocabulary.key_exists(self._query, project, key)

    def known_keys(self, project: ProjectName) -> list[str]:
        """The keys a project's spans carry (recent attribute keys), for suggestions."""
        return vocabulary.known_keys(self._query, project)

    def unpriced_models(self, project: ProjectName) -> dict[str, int]:
        """Models with token counts but no cost, and how many spans each."""
        rows = self._query(
            f"SELECT model, count(*) FROM spans WHERE project = ? AND {UNPRICED_SQL} "
            "GROUP BY model ORDER BY count(*) DESC, model",
            [project],
        )
        return {str(m): int(n) for m, n in rows}

    def project_stats(self) -> list[ProjectStats]:
        """Counts and time span of every project that has spans, by name."""
        rows = self._query(
            "SELECT project, count(*), count(DISTINCT trace_id), min(start_time), "
            "max(start_time) FROM spans GROUP BY project ORDER BY project"
        )
        return [
            ProjectStats(
                name=ProjectName(name),
                num_spans=n,
                num_traces=t,
                first_seen=_aware(first),
                last_seen=_aware(last),
            )
            for name, n, t, first, last in rows
        ]

    def stats(self) -> StoreStats:
        """Row counts and bytes on disk (database file plus WAL)."""
        (num_spans,) = self._query("SELECT count(*) FROM spans")[0]
        (num_annotations,) = self._query("SELECT count(*) FROM annotations")[0]
        db_bytes = wal_bytes = 0
        if self._path is not None:
            db_bytes = file_size(self._path)
            wal_bytes = file_size(wal_path(self._path))
        return StoreStats(
            num_spans=num_spans,
            num_annotations=num_annotations,
            bytes_on_disk=db_bytes + wal_bytes,
            extra={
                "wal_bytes": wal_bytes,
                "schema_version": self._schema_version,
                "reattaches": self.reattaches,
                "wal_recovered_spans": r.spans_recovered if (r := self.wal_recovery) else 0,
                "wal_lost_bytes": r.lost_bytes if (r := self.wal_recovery) else 0,
            },
        )

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
        with self._write_lock:
            self._close_engine()
            if self._journal is not None and self._path is not None:
                if not file_size(wal_path(self._path)):
                    self._journal.reset()  # closing checkpointed: the file holds it all
                self._journal.close()
            self._journal_thread.shutdown()
        if self._on_close is not None:
            self._on_close()


def _unique_spans(rows: list[tuple[Any, ...]]) -> list[Span]:
    """Decode rows sorted on (start_time, span_id), dropping copies of a span stored twice
    (an exporter's retry after a lost response); copies sort next to each other."""
    spans: list[Span] = []
    previous: tuple[Any, Any] | None = None
    for row in rows:
        key = (row[_START], row[_SPAN_ID])
        if key != previous:
            spans.append(row_to_span(row))
            previous = key
    return spans
