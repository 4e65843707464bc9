"""Trace-sorted views whose filters pick the roots, ranked from the traces' totals (ADR 0052).

The traces' totals rank only the traces whose root rows pass the filters (read from the spans
in the same statement). Every page of every trace sort, both directions, three page sizes and
two windows, for a broad filter, a selective one and a bound on the root's cost, followed
through its cursors, is checked against the brute-force order of the planted spans: with
every batch in the totals and with batches in the backlog. A filter only the last-ranked
trace passes finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from test_event_store_trace_sums import (
    SORTS,
    WINDOWS,
    P,
    _caught_up,
    _expected,
    _pages,
    _store,
    _traces,
)

from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import SpanQuery, ValueRange
from llmpulse.store.events import summary_upkeep
from llmpulse.store.events.duckdb import DuckDBEventStore

FILTERS: list[tuple[str, dict[str, object], Callable[[Span], bool]]] = [
    ("failed", {"status": StatusCode.ERROR}, lambda s: s.status_code is StatusCode.ERROR),
    ("ok", {"status": StatusCode.OK}, lambda s: s.status_code is StatusCode.OK),
    (
        "root cost >= 0.01",
        {"ranges": (ValueRange("cost", low=0.01),)},
        lambda s: s.cost_usd is not None and s.cost_usd >= 0.01,
    ),
]


def _check(
    store: DuckDBEventStore, stored: list[Span], limits: tuple[int, ...] = (1, 7, 50)
) -> None:
    """Every page of every filtered trace view (pages of ``limits`` spans) equals the
    brute-force order, and every page came from the traces' totals."""
    before, narrow, pages = store.trace_pages_filtered, store.trace_pages_narrow, 0
    for _, filters, root_ok in FILTERS:
        for sort in SORTS:
            for descending in (True, False):
                for window in WINDOWS:
                    want = _expected(stored, sort, descending, window, root_ok)
                    for limit in limits:
                        q = SpanQuery(
                            P, time=window, sort=sort, descending=descending, limit=limit,
                            **filters,  # type: ignore[arg-type]
                        )  # fmt: skip
                        got = []
                        for page in _pages(store, q):
                            assert len(page.items) <= limit
                            got += [s.span_id for s in page.items]
                            pages += 1
                        assert got == want, (filters, sort, descending, window, limit)
    assert store.trace_pages_filtered - before == pages
    assert store.trace_pages_narrow == narrow


def test_filtered_views_from_the_totals_equal_the_planted_order(tmp_path: Path) -> None:
    store, spans = _caught_up(tmp_path, seed=11, n=120)
    _check(store, spans)
    store.close()


def test_filtered_views_count_the_backlog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_upkeep, "PAUSE_S", 1e9)  # only `catch_up` adds the backlog
    monkeypatch.setattr(summary_upkeep, "MAX_LAG_S", 1e9)
    traces = _traces(seed=12, n=100)
    early = [s for t in traces[:70] for s in t]
    store = _store(tmp_path, early)
    store.catch_up()
    late = [s for t in traces[70:] for s in t]
    store.append_spans(late)
    assert not store.summary_upkeep.caught_up
    _check(store, early + late, limits=(7,))  # the backlog is merged into every ranking
    store.close()


def test_a_filter_only_the_last_ranked_trace_passes_finds_it(
    tmp_path: Path,
) -> None:
    traces = _traces(seed=13, n=200)
    spans = [s for t in traces for s in t]
    last = _expected(spans, "trace_cost", True, WINDOWS[0])[-1]  # the lowest cost in P
    spans = [
        replace(s, status_code=StatusCode.ERROR if s.span_id == last else StatusCode.OK)
        if s.parent_span_id is None
        else s
        for s in spans
    ]
    store = _store(tmp_path, spans)
    store.catch_up()
    q = SpanQuery(P, sort="trace_cost", status=StatusCode.ERROR, limit=1)
    before = store.trace_pages_filtered
    page = store.list_spans(q)
    assert [s.span_id for s in page.items] == [last]
    assert page.next_cursor is None
    assert store.trace_pages_filtered == before + 1
    store.close()
