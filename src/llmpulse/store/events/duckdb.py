"""`DuckDBEventStore`: the embedded event store (the read and write API).

The engine below it (`duckdb_engine`: connections, cursors per thread, the serialized write
path; `duckdb_compact`: backups and compaction) and the SQL dialect (`duckdb_dialect`) live in
their own modules; this one maps the `EventStore` protocol onto compiled SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from llmpulse.clock import to_unix_us
from llmpulse.domain.errors import Unavailable
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Annotation, Span
from llmpulse.store.api import ProjectStats, StoreStats
from llmpulse.store.events import (
    annotation_edits,
    metric_batch,
    purge,
    sketch,
    sketch_copy,
    summaries,
    vocabulary,
)
from llmpulse.store.events import sessions as sessions_sql
from llmpulse.store.events.codec import (
    annotations_to_arrow,
    row_to_annotation,
    row_to_span,
    spans_to_arrow,
)
from llmpulse.store.events.columns import ANNOTATION_COLUMN_NAMES, SPAN_COLUMN_NAMES
from llmpulse.store.events.compaction import file_size
from llmpulse.store.events.compiler import (
    to_naive_utc,
)
from llmpulse.store.events.duckdb_dialect import DIALECT, DuckDBDialect
from llmpulse.store.events.duckdb_engine import Pinned
from llmpulse.store.events.duckdb_listing import NEWEST_FIRST, ListingEngine, unique_rows
from llmpulse.store.events.duckdb_open import wal_path
from llmpulse.store.events.good_valid import compile_counts, counts_from_table
from llmpulse.store.events.metrics import (
    check_metric_query,
    compile_metric,
    compile_sample,
    compile_slices,
)
from llmpulse.store.events.per_unit import UNPRICED_SQL
from llmpulse.store.events.results import _aware, metric_frame, slice_frame
from llmpulse.store.events.summary_upkeep import Moment, query_with
from llmpulse.store.events.units import compile_units, unit_frame
from llmpulse.store.memory import size_bytes
from llmpulse.store.metric_api import (
    MetricColumns,
    MetricFrame,
    MetricQuery,
    SampleQuery,
    SliceFrame,
    SliceQuery,
    UnitFrame,
    UnitQuery,
)
from llmpulse.store.sessions_api import SessionQuery, SessionRow, Turn, UserRow
from llmpulse.store.slo_api import CountQuery, Counts

__all__ = ["DIALECT", "DuckDBDialect", "DuckDBEventStore"]

_SPAN_COLS = ", ".join(SPAN_COLUMN_NAMES)
_ANN_COLS = ", ".join(ANNOTATION_COLUMN_NAMES)


class DuckDBEventStore(ListingEngine):
    """An `EventStore` in one DuckDB file (or in memory when ``path`` is None).

    Opening, the write path and closing are `DuckDBEngine`'s; backups and compaction
    `CompactingEngine`'s; span pages, counts and trace totals `ListingEngine`'s.
    """

    # -- writes ------------------------------------------------------------------------

    def append_spans(self, spans: Sequence[Span]) -> int:
        """Store spans in one transaction; durable when it returns.

        Copies of spans already stored (same project, trace, span id and start time: an
        exporter's retry) are skipped, see `dedupe`. Returns the spans newly stored.
        """
        if not spans:
            return 0
        return self._insert("spans", spans_to_arrow(spans))

    def append_columns(self, table: Any) -> int:
        """Store spans given as an Arrow table with the span columns, and some of the derived
        ones in table order (see `codec`, `layout.brought_columns`); copies of stored spans
        are skipped as in `append_spans`. Returns the spans newly stored."""
        if table.num_rows == 0:
            return 0
        return self._insert("spans", table)

    def append_annotations(self, annotations: Sequence[Annotation]) -> int:
        """Store annotations in one transaction; durable when it returns."""
        if not annotations:
            return 0
        return self._insert("annotations", annotations_to_arrow(annotations))

    # -- reads -------------------------------------------------------------------------

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
        usable = self.summary_upkeep.wait_built()  # a build's snapshot may predate the delete
        if usable:  # the backlog now, so the recount under the lock adds only what comes next
            self.summary_upkeep.catch_up()
        # The search index's counts of those blocks are scanned until they are indexed again.
        self.search_index.unsettle(
            project, None if cut is None else to_unix_us(cut.replace(tzinfo=UTC))
        )
        with self.sketch_guard.changing():  # counts come from the spans until it is recounted
            self.recent_rows.forget(project)  # (inside the change: no page reads them meanwhile)
            n = purge.delete_spans(self._delete_sql, *purge.where_of(project, cut))
            # ... and again: commits between its chunks held spans a later chunk deleted
            self.recent_rows.forget(project)
            if n and usable:
                with self._write_lock:  # no append adds to the sketch while it is recounted
                    if self._closed:  # (closed meanwhile: the next start counts afresh)
                        raise Unavailable("event store is closed")
                    # The backlog first: the recount covers its spans, so none counts twice.
                    self.summary_upkeep.apply_locked(self._con)
                    if self.sketch_guard.usable:  # (a compaction meanwhile may have spoiled
                        # them: its new connection then holds no summaries)
                        summaries.rebuild_project(
                            self._con, self.pair_keys, project, self.edge_spans
                        )
        if n and self.search_index.enabled:
            self.search_index.refresh(self._query)  # blocks that lost spans are indexed again
        n_ann = purge.delete_annotations(self._delete_sql, project) if before is None else 0
        if n or n_ann:
            self.checkpoint()  # the journal must not bring the deleted rows back
        return n

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
            f"{NEWEST_FIRST} LIMIT 1",
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

    metrics_summarized = 0
    """`metric` answers that came from the summaries (span and pair sketches), not the spans."""

    def metric(self, q: MetricQuery) -> MetricFrame:
        """Metrics per (bucket, group); see `MetricQuery`."""
        c = compile_metric(q, DIALECT)  # checks the query whichever way it is answered
        if sketch.plan(q, self.pair_keys.counted) is not None:  # counts, approximate
            # quantiles (ADR 0021), on one snapshot of the spans and summaries (ADR 0050)
            answer = self._pinned_read(sketch.PIN_SQL, lambda pin: self._sketch_answer(q, pin))
            if answer is not None:
                self.metrics_summarized += 1
                return answer
        rows = self._query(c.sql, c.params)
        return metric_frame(q, rows)

    def metric_in_memory(self, q: MetricQuery) -> MetricFrame | None:
        """`metric`'s answer from the span sketch's copy and the kept spans alone (ADRs
        0040, 0066) when both are held at the sketch's version now and no change of the
        summaries nor a commit's queueing is in flight (a commit's write to the spans does
        not matter: it reads no stored span, ADR 0068), or at the moment a round of the
        summaries kept, while it runs and until the copy is taken again (ADR 0071); None
        otherwise, without running a statement or waiting (the server asks it on its event
        loop, saving the hop to a worker thread)."""
        p = sketch_copy.span_plan(q)
        if p is None:
            return None
        check_metric_query(q)  # `compile_metric`'s checks (its fields and filters are the
        # sketch's: a count or latency over the project or its root spans, never refused)

        def read(kept: Moment | None) -> MetricFrame | None:
            m = self.summary_upkeep.moment(kept)
            if m.edges is None:
                return None
            try:
                return self._sketch_copy.frame(_no_statement, q, p, m.version, m.pending, m.edges)
            except _WouldRead:
                return None

        live = self._sketch_copy.is_current(q.project)
        answer = self.sketch_guard.read_memory(read, live=live)  # (ADRs 0068, 0071)
        if answer is not None:
            self.metrics_summarized += 1
        return answer

    def _sketch_answer(self, q: MetricQuery, pin: Pinned) -> MetricFrame | None:
        """The summaries' answer to ``q`` (inside `_pinned_read`): from the span sketch's
        numpy copy (ADR 0040) and the backlog's spans (ADR 0064), else by a statement that
        adds the backlog's spans (ADR 0039); None when a key stopped being counted
        meanwhile."""
        p = sketch_copy.span_plan(q)  # (the pair sketch's plans are not the copy's)
        if p is not None:
            return self._sketch_copy.frame(
                self._numpy, q, p, pin.sketch_version, pin.pending, pin.edges, pin.snapshot
            )
        answer = self._sketch_rows(q, pin.pending, pin.counted)
        return None if answer is None else sketch.frame(q, *answer)

    def _sketch_rows(
        self, q: MetricQuery, pending: pa.Table | None, counted: sketch.Counted
    ) -> tuple[sketch.Plan, list[tuple[Any, ...]]] | None:
        """The summaries' answer to ``q`` with the spans in the backlog ``pending`` (ADR
        0039), the pair sketch counting the keys ``counted`` counts; None when a key is not
        counted."""
        p = sketch.plan(q, counted, pending=pending is not None)
        if p is None:
            return None
        return p, self._read(lambda cur: query_with(cur, pending, p.sql, p.params))

    def metrics(self, qs: Sequence[MetricQuery]) -> list[MetricFrame]:
        """Several metric queries, each frame equal to `metric`'s; queries over the same
        project, time range and bucket width share one scan (`metric_batch`, ADR 0033)."""
        batched = self._batched(qs)
        return [
            self.metric(q) if c is None else metric_batch.to_frame(c)
            for q, c in zip(qs, batched, strict=True)
        ]

    def metric_columns(self, qs: Sequence[MetricQuery]) -> list[MetricColumns]:
        """`metrics` as columns; the batched queries never become rows."""
        batched = self._batched(qs)
        return [
            MetricColumns.of(self.metric(q)) if c is None else c
            for q, c in zip(qs, batched, strict=True)
        ]

    def _batched(self, qs: Sequence[MetricQuery]) -> list[MetricColumns | None]:
        """The queries' columns from shared scans; None for those to ask one by one."""
        for q in qs:
            compile_metric(q, DIALECT)  # every query is checked, as `metric` checks it
        out: list[MetricColumns | None] = [None] * len(qs)
        for scan in metric_batch.plan_scans(qs):
            sql, params = metric_batch.scan_sql(scan, DIALECT)
            table = self._query_arrow(sql, params)
            cols = metric_batch.columns(scan, table)
            del table  # the numpy columns hold what the frames need
            answered = metric_batch.frames(scan, cols)
            for (i, _), frame in zip(scan.queries, answered, strict=True):
                out[i] = frame
        return out

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
        return unit_frame(q, self._query_arrow(c.sql, c.params))

    def good_valid(self, q: CountQuery) -> list[Counts]:
        """Good/valid counts per bucket for every SLI of ``q``, in one grouped query."""
        c = compile_counts(q, DIALECT)
        return counts_from_table(q, self._query_arrow(c.sql, c.params))

    def sessions(self, q: SessionQuery) -> list[SessionRow]:
        """Sessions with their totals (see `store.events.sessions`)."""
        return sessions_sql.list_sessions(self._query, q)

    def session_turns(self, project: ProjectName, session_id: str) -> list[Turn]:
        """One session's turns (see `store.events.sessions`)."""
        return sessions_sql.session_turns(self._query, project, session_id)

    def users(self, q: SessionQuery) -> list[UserRow]:
        """Users with their totals (see `store.events.sessions`)."""
        return sessions_sql.list_users(self._query, q)

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
        """Row counts, bytes on disk (database file plus WAL), the buffer pool's bound (as
        set) and use, the blocks the search index has not caught up with, and the summaries'
        state: whether they and the traces' totals answer, whether the totals were kept from
        the last close (ADR 0074), and the committed spans they lack (``extra``)."""
        num_spans, num_annotations, used = self._query(
            "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM annotations), "
            "(SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory())"
        )[0]
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
                "memory_limit_bytes": size_bytes(self._memory_limit),
                "memory_bytes": int(used),
                "schema_version": self._schema_version,
                "reattaches": self.reattaches,
                "wal_recovered_spans": r.spans_recovered if (r := self.wal_recovery) else 0,
                "wal_lost_bytes": r.lost_bytes if (r := self.wal_recovery) else 0,
                "search_pending_blocks": self.search_index.pending(),
                "summaries_ready": int(self.sketch_guard.usable),
                "trace_totals_ready": int(self.sketch_guard.totals_usable),
                "trace_totals_kept": int(self.totals_kept),
                "summaries_backlog_spans": self.summary_upkeep.backlog.spans,
            },
        )


def _unique_spans(rows: list[tuple[Any, ...]]) -> list[Span]:
    """Decode rows sorted on (start_time, span_id), dropping copies of a span stored twice
    (an exporter's retry after a lost response); copies sort next to each other."""
    return [row_to_span(row) for row in unique_rows(rows)]


class _WouldRead(Exception):
    """`metric_in_memory` would have to read the store: it does not."""


def _no_statement(sql: str, params: Sequence[Any]) -> dict[str, Any]:
    raise _WouldRead(sql)
