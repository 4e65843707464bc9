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
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from llmpulse.clock import SystemClock
from llmpulse.domain.errors import Conflict, FieldError, InvalidInput, Unavailable
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
)
from llmpulse.store.events.codec import (
    annotations_to_arrow,
    row_to_annotation,
    row_to_span,
    spans_to_arrow,
    utc,
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
    MAX_LIMIT,
    add_cursor,
    compile_filters,
    encode_cursor,
)
from llmpulse.store.events.layout import METADATA_KV_COLUMN, METADATA_KV_SQL
from llmpulse.store.events.metrics import compile_metric, compile_sample, compile_slices
from llmpulse.store.events.migrate import apply_migrations, current_version
from llmpulse.store.events.results import metric_frame, slice_frame

_SPAN_COLS = ", ".join(SPAN_COLUMN_NAMES)
_ANN_COLS = ", ".join(ANNOTATION_COLUMN_NAMES)
_NEWEST_FIRST = "ORDER BY start_time DESC, span_id DESC"
_START = SPAN_COLUMN_NAMES.index("start_time")
_SPAN_ID = SPAN_COLUMN_NAMES.index("span_id")
# A checkpoint compresses the WAL's rows into the file and rewrites the open row group, inside
# the commit that triggers it. DuckDB's default (16 MB of WAL: every ~5k spans of 3 kB) halves
# append throughput. With 16k-row row groups, 300-span commits cost 41 µs per span at 64 MB
# and 29 at 256 MB; over OTLP (150k spans, 4 senders) 256 MB gave 16-18k spans/s instead of
# 14k at the same peak RSS (the memory limit bounds the buffer pool either way). The writer
# also checkpoints whenever ingest pauses, so a restart rarely replays a long log.
_WAL_AUTOCHECKPOINT = "256MB"
_CATALOG = "events"
_ROW_GROUP_SIZE = 16_384
DEFAULT_MEMORY_LIMIT = "512MB"
_MEMORY_RE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", re.IGNORECASE)
# Compact when at least this share of the file's blocks is free (ADR 0013): 300 commits of
# 300 spans left 30 % free, the layout migration about half.
DEFAULT_COMPACT_FREE_RATIO = 0.25
# ... and the file is at least this large (a small file is not worth a rewrite).
DEFAULT_COMPACT_MIN_BYTES = 64 * 1024 * 1024
log = logging.getLogger(__name__)


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
        compact_free_ratio: float = DEFAULT_COMPACT_FREE_RATIO,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
    ) -> None:
        """Open (creating if needed) the database and bring its schema up to date.

        Args:
            path: the database file; None keeps everything in memory (tests).
            on_close: called once after the engine is closed (releases a data-dir lock).
            memory_limit: DuckDB's buffer pool bound.
            compact_free_ratio: `compact_if_fragmented` compacts from this free share on.
            compact_min_bytes: ... and only files at least this large.
        """
        self._path = path
        self._on_close = on_close
        self._memory_limit = memory_limit
        self._compact_free_ratio = compact_free_ratio
        self._compact_min_bytes = compact_min_bytes
        if path is not None:
            recover(path)
        self._con, self._schema_version = _connect(path, memory_limit)
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
                cur.execute(f"USE {_CATALOG}")  # a cursor starts in the empty in-memory catalog
                self._cursors.append(cur)
            self._local.cursor = cur
            self._local.generation = self._generation
        return cur

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # The swap lock keeps a compaction from replacing the file under a running query.
        with self._swap.shared():
            rows: list[tuple[Any, ...]] = self._reader().execute(sql, list(params)).fetchall()
        return rows

    def _insert(self, table: str, columns: tuple[str, ...], batch: Any) -> None:
        if tuple(batch.column_names) != columns:
            raise ValueError(f"{table} batch columns {batch.column_names} are not {columns}")
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            # The relation API, not INSERT … SELECT from a registered view: same rows, but
            # under a busy Python thread a 300-span insert took 8 ms instead of 12 (DuckDB
            # takes the GIL back between tasks). Columns go by position: the Arrow tables
            # are built from the same column list as the migrations (a contract test), and
            # spans get the store's derived columns appended (`layout`).
            rel = self._con.from_arrow(batch)
            if table == "spans":
                rel = rel.project(f"*, {METADATA_KV_SQL} AS {METADATA_KV_COLUMN}")
            rel.insert_into(table)

    # -- writes ------------------------------------------------------------------------

    def append_spans(self, spans: Sequence[Span]) -> int:
        """Store spans in one transaction; durable when it returns. Returns the count."""
        if not spans:
            return 0
        self._insert("spans", SPAN_COLUMN_NAMES, spans_to_arrow(spans))
        return len(spans)

    def append_columns(self, table: Any) -> int:
        """Store spans given as an Arrow table with the span columns (see `codec`)."""
        if table.num_rows == 0:
            return 0
        self._insert("spans", SPAN_COLUMN_NAMES, table)
        return int(table.num_rows)

    def append_annotations(self, annotations: Sequence[Annotation]) -> int:
        """Store annotations in one transaction; durable when it returns."""
        if not annotations:
            return 0
        self._insert("annotations", ANNOTATION_COLUMN_NAMES, annotations_to_arrow(annotations))
        return len(annotations)

    # -- reads -------------------------------------------------------------------------

    def list_spans(self, q: SpanQuery) -> Page[Span]:
        """List spans matching ``q``, newest first, one page at a time.

        Raises:
            InvalidInput: a filter, the limit or the cursor is not acceptable.
        """
        where = compile_filters(q, DIALECT)
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

    def checkpoint(self) -> None:
        """Write the WAL's rows into the compressed file (DuckDB CHECKPOINT)."""
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            self._con.execute(f"CHECKPOINT {_CATALOG}")

    # -- compaction (ADR 0013) ---------------------------------------------------------

    def free_space(self) -> FreeSpace:
        """Block counts and size of the database file."""
        with self._swap.shared():
            cur = self._reader()
            return free_space(cur, _CATALOG, self._path) if self._path else FreeSpace(0, 0, 0)

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
        bytes_before = file_size(path) + file_size(path.with_name(path.name + ".wal"))
        schema, _ = _connect(target, self._memory_limit)  # the migrations make the schema
        schema.close()
        with self._write_lock:
            if self._closed:
                raise Unavailable("event store is closed")
            self._con.execute(
                f"ATTACH '{_quote(str(target))}' AS {COMPACT_CATALOG} "
                f"(ROW_GROUP_SIZE {_ROW_GROUP_SIZE})"
            )
            cur = self._compact_cursor = self._con.cursor()
            marks = take_marks(cur, _CATALOG)  # no append is in flight: a clean snapshot
        try:
            copy_snapshot(cur, _CATALOG, marks)
            with self._write_lock:  # catch up with the rows appended meanwhile
                first, marks = marks, take_marks(cur, _CATALOG)
                self._con.execute(f"CHECKPOINT {_CATALOG}")  # a short log for the swap
            copy_snapshot(cur, _CATALOG, marks, after=first)
            with self._swap.exclusive(), self._write_lock:
                paused_at = SystemClock().monotonic_s()
                if self._closed:
                    raise Unavailable("event store is closed")
                tail = copy_tail(cur, _CATALOG, marks)
                (num_spans,) = cur.execute(f"SELECT count(*) FROM {_CATALOG}.spans").fetchall()[0]
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
        con.execute(f"USE memory; DETACH {_CATALOG}")
        con.close()
        try:
            finish_swap(path)
        finally:
            self._con, self._schema_version = _connect(path, self._memory_limit)
            self._generation += 1

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

    def unpriced_models(self, project: ProjectName) -> dict[str, int]:
        """Models with token counts but no cost, and how many spans each."""
        rows = self._query(
            "SELECT model, count(*) FROM spans WHERE project = ? AND model IS NOT NULL "
            "AND cost_usd IS NULL AND coalesce(total_tokens, prompt_tokens, completion_tokens) "
            "IS NOT NULL GROUP BY model ORDER BY count(*) DESC, model",
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
            wal_bytes = file_size(self._path.with_name(self._path.name + ".wal"))
        return StoreStats(
            num_spans=num_spans,
            num_annotations=num_annotations,
            bytes_on_disk=db_bytes + wal_bytes,
            extra={"wal_bytes": wal_bytes, "schema_version": self._schema_version},
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
        if self._on_close is not None:
            self._on_close()
        if self._on_close is not None:
            self._on_close()


def _connect(path: Path | None, memory_limit: str) -> tuple[duckdb.DuckDBPyConnection, int]:
    """Open the database, tune it for this workload and migrate it; return it and its version."""
    if not _MEMORY_RE.fullmatch(memory_limit):
        raise InvalidInput(
            f"memory limit {memory_limit!r} is not a size",
            [FieldError("memory_limit", "e.g. 512MB or 2GB")],
        )
    con = duckdb.connect(":memory:")
    try:
        # Row groups of 16k rows instead of 122,880: a checkpoint recompresses the table's last,
        # partly filled row group, and at ~3 kB per span a full-size one is ~400 MB of text.
        # Appending 300k benchmark spans in 3k-span commits took 54 µs per span with the
        # default (single checkpoints up to 4 s) and 26 µs with 16k. The size is an ATTACH
        # option that the file does not remember, so every open attaches with it.
        target = ":memory:" if path is None else str(path)
        con.execute(f"ATTACH '{_quote(target)}' AS {_CATALOG} (ROW_GROUP_SIZE {_ROW_GROUP_SIZE})")
        con.execute(f"USE {_CATALOG}")
        con.execute(f"SET GLOBAL wal_autocheckpoint = '{_WAL_AUTOCHECKPOINT}'")
        # Bounded buffer pool: without it DuckDB may cache up to 80 % of RAM (GBs at 1M spans).
        con.execute(f"SET GLOBAL memory_limit = '{memory_limit}'")
        # A long statement (a migration that rewrites the span table) would otherwise draw
        # DuckDB's progress bar on the server's stdout.
        con.execute("SET enable_progress_bar = false")
        if path is not None:
            # Sorts that spill (a compaction's copy, a layout migration) write beside the
            # database, not into `.tmp` under whatever directory the process started in.
            spill = path.with_name(path.name + ".tmp")
            con.execute(f"SET temp_directory = '{_quote(str(spill))}'")
        # Top-N over full rows: sort on (start_time, span_id) alone, then fetch the page's
        # other columns by row id. DuckDB does this only up to 50 rows by default; a page of
        # 101 full rows otherwise decompresses every column of each row group it scans
        # (36 ms instead of 7 ms for the newest 100 of 1M spans of 3 kB).
        con.execute(f"SET GLOBAL late_materialization_max_rows = {MAX_LIMIT + 1}")
        before = current_version(con)
        version = apply_migrations(con, "duckdb")
        if version != before:
            # A migration that rewrote a table frees the old blocks only at a checkpoint;
            # without it the writer's first compaction check would see none free (ADR 0013).
            con.execute(f"CHECKPOINT {_CATALOG}")
        return con, version
    except BaseException:
        con.close()
        raise


def _quote(text: str) -> str:
    """``text`` inside a single-quoted SQL string literal."""
    return text.replace("'", "''")


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


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)
