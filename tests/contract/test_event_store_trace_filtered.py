"""Trace-sorted views whose filters pick the roots, ranked from the traces' totals (ADRs 0052,
0053).

The traces' totals rank only the traces whose root rows pass the filters: the root's status
from the totals themselves (ADR 0053), any other filter read from the spans in the same
statement (ADR 0052). Every page of every trace sort, both directions, three page sizes and
two windows, for a broad status, a selective one, a bound on the root's cost and that bound
with a status, followed through its cursors, is checked against the brute-force order of the
planted spans: with every batch in the totals, with batches in the backlog, and with traces
of several roots (ADR 0073). A filter only
the last-ranked trace passes finds it; a root that arrives after its trace's other spans
carries its status into the totals.
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
    _several_roots,
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
    (
        "ok and root cost >= 0.01",
        {"status": StatusCode.OK, "ranges": (ValueRange("cost", low=0.01),)},
        lambda s: s.status_code is StatusCode.OK and s.cost_usd is not None and s.cost_usd >= 0.01,
    ),
]
"""(name, the view's filters, which root rows pass them). The status alone is ranked from
the totals (`trace_pages_ranked`); with another filter, from the totals and the roots read
from the spans (`trace_pages_filtered`)."""


def _check(
    store: DuckDBEventStore, stored: list[Span], limits: tuple[int, ...] = (1, 7, 50)
) -> None:
    """Every page of every filtered trace view (pages of ``limits`` spans) equals the
    brute-force order, and every page came from the traces' totals."""
    before = store.trace_pages_filtered, store.trace_pages_ranked
    narrow, pages = store.trace_pages_narrow, [0, 0]
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
                            pages[list(filters) == ["status"]] += 1
                        assert got == want, (filters, sort, descending, window, limit)
    assert store.trace_pages_filtered - before[0] == pages[0]
    assert store.trace_pages_ranked - before[1] == pages[1]
    assert store.trace_pages_narrow == narrow


def test_filtered_views_from_the_totals_equal_the_planted_order(tmp_path: Path) -> None:
    store, spans = _caught_up(tmp_path, seed=11, n=120)
    _check(store, spans)
    store.close()


def test_filtered_views_with_traces_of_several_roots_equal_the_planted_order(
    tmp_path: Path,
) -> None:
    spans = [s for t in _several_roots(seed=51, n=120) for s in t]
    store = _store(tmp_path, spans, caught_up=True)
    _check(store, spans, limits=(1, 7, 50))  # (their roots joined by the view's filters)
    store.close()


def test_filtered_views_count_the_backlog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_upkeep, "PAUSE_S", 1e9)  # only `catch_up` adds the backlog
    monkeypatch.setattr(summary_upkeep, "MAX_LAG_S", 1e9)
    traces = _traces(seed=12, n=100)
    early = [s for t in traces[:70] for s in t]
    store = _store(tmp_path, early, caught_up=True)
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
    store = _store(tmp_path, spans, caught_up=True)
    name = next(s.name for s in spans if s.span_id == last)
    for filters in ({}, {"names": (name,)}):  # the status alone, and with a filter of the spans
        q = SpanQuery(P, sort="trace_cost", status=StatusCode.ERROR, limit=1, **filters)  # type: ignore[arg-type]
        page = store.list_spans(q)
        assert [s.span_id for s in page.items] == [last]
        assert page.next_cursor is None
    assert store.trace_pages_filtered == 1
    assert store.trace_pages_ranked == 1
    store.close()


def test_a_root_after_its_spans_carries_its_status_into_the_totals(tmp_path: Path) -> None:
    """A trace's root arrives in a batch after its other spans (merged into a totals row
    that had no root), with the other traces' batches between; its status decides."""
    traces = _traces(seed=14, n=60)
    late = next(t for t in traces if len(t) > 2 and t[0].project == P)
    root = next(s for s in late if s.parent_span_id is None)
    others = [replace(s, status_code=StatusCode.OK) for t in traces if t is not late for s in t]
    store = _store(tmp_path, [s for s in late if s is not root] + others)
    store.catch_up()
    q = SpanQuery(P, sort="trace_latency", status=StatusCode.ERROR, limit=10)
    assert store.list_spans(q).items == []
    store.append_spans([replace(root, status_code=StatusCode.ERROR)])
    store.catch_up()
    before = store.trace_pages_ranked
    assert [s.span_id for s in store.list_spans(q).items] == [root.span_id]
    stored = [
        replace(root, status_code=StatusCode.ERROR),
        *others,
        *(s for s in late if s is not root),
    ]
    for status in StatusCode.ERROR, StatusCode.OK:
        got = store.list_spans(replace(q, status=status, limit=100)).items
        want = _expected(stored, q.sort, True, q.time, lambda s, c=status: s.status_code is c)
        assert [s.span_id for s in got] == want
    assert store.trace_pages_ranked == before + 3
    store.close()
