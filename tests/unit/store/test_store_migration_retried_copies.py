"""Migration 0003: a store written before retries were dropped loses its second copies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.migrate import current_version, load_migrations
from llmpulse.store.metric_api import MetricQuery

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def make_span(n: int, **kw: object) -> Span:
    start = T0 + timedelta(seconds=n)
    span = Span(
        project=ProjectName("default"),
        trace_id=TraceId(f"{n:032x}"),
        span_id=SpanId(f"{n:016x}"),
        parent_span_id=None,
        name="llm",
        kind=SpanKind.LLM,
        start_time=start,
        end_time=start + timedelta(milliseconds=100),
    )
    return replace(span, **kw)  # type: ignore[arg-type]


def _old_store(path: Path) -> None:
    """A database at schema version 2 holding each span twice (three times for span 0)."""
    con = duckdb.connect(str(path))
    current_version(con)
    for m in load_migrations("duckdb")[:2]:
        con.execute(m.sql)
        con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [m.version, m.name])
    spans = [make_span(i, cost_usd=1.0) for i in range(5)]
    other = [replace(s, project=ProjectName("other")) for s in spans[:2]]
    for batch in (spans, spans, spans[:1], other):
        con.from_arrow(spans_to_arrow(batch).select(SPAN_COLUMN_NAMES)).insert_into("spans")
    con.close()


def test_opening_an_old_store_keeps_one_copy_of_each_span(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    _old_store(path)
    store = DuckDBEventStore(path)
    try:
        assert store.stats().num_spans == 7
        assert store.stats().extra["schema_version"] == len(load_migrations("duckdb"))
        q = MetricQuery(
            ProjectName("default"), (parse_metric("count"), parse_metric("cost_usd:sum"))
        )
        (row,) = store.metric(q).rows
        assert row.values == (5.0, 5.0)
    finally:
        store.close()
