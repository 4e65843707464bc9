"""A sorted page bounded by its last value (ADR 0045) is exact even when spans go between
the bound's statement and the page's: a short bounded page is asked again in full."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contract.store_factories import make_span
from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import SpanQuery
from llmpulse.store.events import listing
from llmpulse.store.events.compiler import compile_filters
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.duckdb_dialect import DIALECT

P = ProjectName("default")
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _store(tmp_path: Path) -> DuckDBEventStore:
    store = DuckDBEventStore(tmp_path / "events.duckdb", journal=False)
    spans = []
    for n in range(40):  # the older the span, the slower: deleting old spans takes the top
        start = T0 + timedelta(seconds=n)
        spans.append(
            make_span(n, start_time=start, end_time=start + timedelta(milliseconds=1000 - 10 * n))
        )
    store.append_spans(spans)
    return store


def _ids(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    return [r[2] for r in rows]


def test_spans_deleted_between_bound_and_page_do_not_shorten_the_page(tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:
        q = SpanQuery(project=P, sort="latency", limit=10, fields="summary")
        statements: list[str] = []

        def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            statements.append(sql)
            rows = store._query(sql, params)
            if len(statements) == 1:  # the bound was read: the five slowest spans go
                store.delete_spans(P, before=T0 + timedelta(seconds=5))
            return rows

        rows, cursor = listing.sorted_rows(
            query, q, compile_filters(q, DIALECT), listing.span_columns(q)
        )
        expected = [f"{n:016x}" for n in range(5, 15)]
        assert _ids(rows) == expected
        assert cursor is not None
        assert len(statements) == 3  # bound, the short bounded page, the page in full
        untouched, _ = listing.sorted_rows(
            store._query, q, compile_filters(q, DIALECT), listing.span_columns(q)
        )
        assert _ids(untouched) == expected
    finally:
        store.close()
