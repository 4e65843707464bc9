"""EventStore contract: sorted listings, range filters, keyset cursors, counts, trace totals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from store_factories import make_span, span_id, trace_id

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import EventStore, SpanQuery, TraceTotals, ValueRange

P = ProjectName("default")
LATENCY_MS = [30, 250, 90, 250, 10, 700, 60, 250, 5, 400]


def _span(n: int, **kw: Any) -> Span:
    base = make_span(n)
    return make_span(n, end_time=base.start_time + timedelta(milliseconds=LATENCY_MS[n % 10]), **kw)


def _seed(store: EventStore) -> None:
    store.append_spans(
        [
            _span(n, total_tokens=None if n == 3 else 100 * n, cost_usd=None if n == 3 else n / 100)
            for n in range(10)
        ]
    )


def _walk(store: EventStore, limit: int, **kw: Any) -> list[str]:
    got: list[str] = []
    cursor = None
    while True:
        page = store.list_spans(SpanQuery(project=P, limit=limit, cursor=cursor, **kw))
        got.extend(s.span_id for s in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return got


def _expected(key: Any, descending: bool) -> list[str]:
    ns = sorted(range(10), key=lambda n: (key(n), span_id(n)), reverse=descending)
    return [span_id(n) for n in ns]


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 100])
def test_list_spans_sorts_by_latency_with_ties_broken_by_span_id(
    event_store: EventStore, descending: bool, limit: int
) -> None:
    _seed(event_store)
    got = _walk(event_store, limit, sort="latency", descending=descending)
    assert got == _expected(lambda n: LATENCY_MS[n], descending)


@pytest.mark.parametrize("descending", [True, False])
def test_list_spans_sorts_by_tokens_and_cost_with_missing_values_as_least(
    event_store: EventStore, descending: bool
) -> None:
    _seed(event_store)
    tokens = _walk(event_store, 4, sort="tokens", descending=descending)
    cost = _walk(event_store, 4, sort="cost", descending=descending)
    assert tokens == _expected(lambda n: -1 if n == 3 else 100 * n, descending)
    assert cost == tokens


NEGATIVE = [None, -5, 3, -1, None, 7, -1, -3, 3, None]
"""Values around the missing-value mark (-1): some below it, some equal, missing ones."""


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 100])
def test_values_below_the_missing_mark_keep_their_order(
    event_store: EventStore, descending: bool, limit: int
) -> None:
    event_store.append_spans(
        [
            _span(
                n,
                total_tokens=NEGATIVE[n],
                cost_usd=None if NEGATIVE[n] is None else NEGATIVE[n] / 2,
            )
            for n in range(10)
        ]
    )
    tokens = _walk(event_store, limit, sort="tokens", descending=descending)
    cost = _walk(event_store, limit, sort="cost", descending=descending)
    want = _expected(lambda n: -1 if NEGATIVE[n] is None else NEGATIVE[n], descending)
    assert tokens == want
    # a cost of -0.5 (-1 tokens) sorts above the missing ones (-1.0), -1.5 below them
    assert cost == _expected(lambda n: -1 if NEGATIVE[n] is None else NEGATIVE[n] / 2, descending)


def test_list_spans_sorts_oldest_first_by_time_ascending(event_store: EventStore) -> None:
    _seed(event_store)
    assert _walk(event_store, 3, sort="time", descending=False) == [span_id(n) for n in range(10)]


def test_sorted_cursor_stays_correct_when_spans_arrive_between_pages(
    event_store: EventStore,
) -> None:
    _seed(event_store)
    first = event_store.list_spans(SpanQuery(project=P, limit=3, sort="latency"))
    assert [s.span_id for s in first.items] == [span_id(5), span_id(9), span_id(7)]
    # arrivals both before and after the cursor position, one tying the cursor's value
    event_store.append_spans([_span(15), _span(14, total_tokens=1), _span(13)])
    got = [s.span_id for s in first.items]
    cursor = first.next_cursor
    while cursor is not None:
        page = event_store.list_spans(SpanQuery(project=P, limit=3, sort="latency", cursor=cursor))
        got.extend(s.span_id for s in page.items)
        cursor = page.next_cursor
    assert len(got) == len(set(got))
    # the later pages hold exactly the rows after the cursor (250 ms, span 7) in the
    # new data: the 700 ms arrival sorts before it and is not shown; the others are
    latency = {span_id(n): LATENCY_MS[n % 10] for n in (*range(10), 13, 14, 15)}
    after = [
        s
        for s in sorted(latency, key=lambda s: (latency[s], s), reverse=True)
        if (latency[s], s) < (250, span_id(7))
    ]
    assert got[3:] == after
    assert span_id(15) not in got
    assert span_id(14) in got


def test_range_filters_bound_latency_tokens_and_cost_inclusively(event_store: EventStore) -> None:
    _seed(event_store)

    def ids(*ranges: ValueRange) -> set[str]:
        return set(_walk(event_store, 100, sort="latency", ranges=ranges))

    assert ids(ValueRange("latency", low=250)) == {span_id(n) for n in (1, 3, 5, 7, 9)}
    assert ids(ValueRange("latency", high=30)) == {span_id(n) for n in (0, 4, 8)}
    assert ids(ValueRange("tokens", low=200, high=400)) == {span_id(n) for n in (2, 4)}
    assert ids(ValueRange("cost", low=0.05)) == {span_id(n) for n in (5, 6, 7, 8, 9)}
    both = ids(ValueRange("latency", low=250), ValueRange("cost", high=0.05))
    assert both == {span_id(1), span_id(5)}
    native = event_store.list_spans(
        SpanQuery(project=P, ranges=(ValueRange("latency", low=400),))
    ).items
    assert [s.span_id for s in native] == [span_id(9), span_id(5)]


def test_count_spans_counts_every_match_regardless_of_limit(event_store: EventStore) -> None:
    _seed(event_store)
    assert event_store.count_spans(SpanQuery(project=P, limit=2)) == 10
    q = SpanQuery(project=P, limit=1, ranges=(ValueRange("latency", low=250),))
    assert event_store.count_spans(q) == 5
    assert event_store.count_spans(SpanQuery(project=ProjectName("none"))) == 0


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"sort": "speed"}, "sort"),
        ({"sort": "latency", "ranges": (ValueRange("size", low=1),)}, "size"),
        ({"sort": "latency", "ranges": (ValueRange("cost", low=2, high=1),)}, "cost"),
        ({"sort": "latency", "cursor": "!!"}, "cursor"),
    ],
)
def test_bad_sort_range_or_cursor_is_refused_naming_the_field(
    event_store: EventStore, kw: dict[str, Any], field: str
) -> None:
    _seed(event_store)
    with pytest.raises(InvalidInput) as err:
        event_store.list_spans(SpanQuery(project=P, **kw))
    assert [e.path for e in err.value.errors] == [field]


def test_cursor_of_one_sort_is_refused_by_another(event_store: EventStore) -> None:
    _seed(event_store)
    page = event_store.list_spans(SpanQuery(project=P, limit=2, sort="latency"))
    assert page.next_cursor is not None
    with pytest.raises(InvalidInput, match="another sort"):
        event_store.list_spans(SpanQuery(project=P, sort="cost", cursor=page.next_cursor))
    with pytest.raises(InvalidInput, match="another sort"):
        event_store.list_spans(
            SpanQuery(project=P, sort="latency", descending=False, cursor=page.next_cursor)
        )


def test_trace_totals_sum_every_span_of_each_trace(event_store: EventStore) -> None:
    root = make_span(1, total_tokens=10, cost_usd=0.5)
    child = make_span(
        2,
        trace_id=root.trace_id,
        parent_span_id=root.span_id,
        total_tokens=5,
        cost_usd=None,
        status_code=StatusCode.ERROR,
    )
    lone = make_span(3)
    event_store.append_spans([root, child, lone])
    totals = event_store.trace_totals([root.trace_id, lone.trace_id, trace_id(99)])
    first = min(root.start_time, child.start_time)
    trace_ms = (max(root.end_time, child.end_time) - first) / timedelta(microseconds=1) / 1000
    lone_ms = (lone.end_time - lone.start_time) / timedelta(microseconds=1) / 1000
    assert totals == {
        root.trace_id: TraceTotals(
            total_tokens=15, cost_usd=0.5, errors=1, num_spans=2, latency_ms=trace_ms
        ),
        lone.trace_id: TraceTotals(
            total_tokens=0, cost_usd=0.0, errors=0, num_spans=1, latency_ms=lone_ms
        ),
    }
    assert event_store.trace_totals([]) == {}
