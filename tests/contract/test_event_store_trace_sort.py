"""EventStore contract: traces sorted by their totals (``trace_cost``, ``trace_tokens``,
``trace_latency``), one root row per trace, against orders computed by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from store_factories import T0, make_span, span_id, trace_id

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import EventStore, SpanQuery, ValueRange

P = ProjectName("default")


def _span(
    trace: int, n: int, *, at_ms: int, ms: int, cost: float | None, tokens: int | None, **kw: object
) -> Span:
    start = T0 + timedelta(milliseconds=at_ms)
    s = make_span(
        trace * 100 + n,
        trace_id=trace_id(trace),
        parent_span_id=None if n == 0 else span_id(trace * 100),
        start_time=start,
        end_time=start + timedelta(milliseconds=ms),
        cost_usd=cost,
        total_tokens=tokens,
    )
    return replace(s, **kw) if kw else s  # type: ignore[arg-type]


def _traces() -> list[Span]:
    """Four traces whose per-trace order differs from their roots' per-span order.

    =====  ==========================  ======  ======  =================
    trace  spans (cost, tokens)        cost    tokens  first→last (ms)
    =====  ==========================  ======  ======  =================
    1      root .01/10, .5/100, .2/40  0.71    150     0 → 900 = 900
    2      root 1.0/500                1.00    500     100 → 400 = 300
    3      root .3/5, 6 x .2/20        1.50    125     200 → 390,000
    4      root none, child none       0.00    0       300 → 350 = 50
    =====  ==========================  ======  ======  =================
    Trace 3's children start six minutes later, in another five-minute block than its root.
    """
    return [
        _span(1, 0, at_ms=0, ms=100, cost=0.01, tokens=10, input_value="needle one"),
        _span(1, 1, at_ms=10, ms=890, cost=0.5, tokens=100),
        _span(1, 2, at_ms=20, ms=30, cost=0.2, tokens=40, status_code=StatusCode.ERROR),
        _span(2, 0, at_ms=100, ms=300, cost=1.0, tokens=500, input_value="needle two"),
        _span(3, 0, at_ms=200, ms=50, cost=0.3, tokens=5, input_value="needle three"),
        *[_span(3, k, at_ms=360_000 + k, ms=30_000 - k, cost=0.2, tokens=20) for k in range(1, 7)],
        _span(4, 0, at_ms=300, ms=50, cost=None, tokens=None),
        _span(4, 1, at_ms=310, ms=10, cost=None, tokens=None),
    ]


ORDERS = {
    "trace_cost": [3, 2, 1, 4],
    "trace_tokens": [2, 1, 3, 4],
    "trace_latency": [3, 1, 2, 4],
}
VALUES = {  # the traces' values, in ORDERS's order
    "trace_cost": [1.5, 1.0, 0.71, 0.0],
    "trace_tokens": [500, 150, 125, 0],
    "trace_latency": [389_800, 900, 300, 50],
}
NINE = {"trace_cost": 1.2, "trace_tokens": 300, "trace_latency": 350}


def _roots(store: EventStore, q: SpanQuery) -> list[int]:
    page = store.list_spans(q)
    assert all(s.parent_span_id is None for s in page.items)
    return [int(s.trace_id, 16) for s in page.items]


@pytest.mark.parametrize("sort", sorted(ORDERS))
def test_traces_sort_by_their_totals_both_ways(event_store: EventStore, sort: str) -> None:
    event_store.append_spans(_traces())
    assert _roots(event_store, SpanQuery(project=P, sort=sort)) == ORDERS[sort]
    up = _roots(event_store, SpanQuery(project=P, sort=sort, descending=False))
    assert up == ORDERS[sort][::-1]
    assert event_store.count_spans(SpanQuery(project=P, sort=sort)) == 4  # traces, not spans


@pytest.mark.parametrize("sort", sorted(ORDERS))
def test_cursor_pages_stay_correct_while_traces_arrive(event_store: EventStore, sort: str) -> None:
    event_store.append_spans(_traces())
    seen: list[int] = []
    cursor = None
    while True:
        page = event_store.list_spans(SpanQuery(project=P, sort=sort, limit=1, cursor=cursor))
        seen.extend(int(s.trace_id, 16) for s in page.items)
        if len(seen) == 1:  # after the first page: one trace above it, one in the middle
            event_store.append_spans(
                [
                    _span(8, 0, at_ms=500, ms=500_000, cost=9.0, tokens=9_000),
                    _span(9, 0, at_ms=600, ms=350, cost=1.2, tokens=300),
                ]
            )
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    # Trace 8 sorts before the page already read in every order: it is not shown and nothing
    # repeats. Trace 9 sorts after it and shows in its place among the rest.
    value = dict(zip(ORDERS[sort], VALUES[sort], strict=True)) | {9: NINE[sort]}
    assert seen == [ORDERS[sort][0], *sorted([*ORDERS[sort][1:], 9], key=lambda t: -value[t])]


def test_totals_cover_the_whole_trace_when_roots_are_searched(event_store: EventStore) -> None:
    """A search picks root rows; the value still sums every span of the trace, also those in
    other index blocks."""
    event_store.append_spans(_traces())
    q = SpanQuery(project=P, text="NEEDLE", sort="trace_cost")
    assert _roots(event_store, q) == [3, 2, 1]
    assert _roots(event_store, replace(q, sort="trace_latency")) == [3, 1, 2]
    assert event_store.count_spans(q) == 3


def test_filters_pick_roots_and_totals_sum_every_span(event_store: EventStore) -> None:
    event_store.append_spans(_traces())
    # Roots costing at least 0.25: trace 2's (1.0) and trace 3's (0.3), ordered by their
    # traces' totals (1.0 and 1.5).
    q = SpanQuery(project=P, sort="trace_cost", ranges=(ValueRange("cost", low=0.25),))
    assert _roots(event_store, q) == [3, 2]


def test_a_cursor_of_another_sort_is_refused(event_store: EventStore) -> None:
    event_store.append_spans(_traces())
    page = event_store.list_spans(SpanQuery(project=P, sort="trace_cost", limit=1))
    assert page.next_cursor is not None
    with pytest.raises(InvalidInput):
        event_store.list_spans(SpanQuery(project=P, sort="trace_tokens", cursor=page.next_cursor))
