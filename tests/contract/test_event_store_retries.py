"""EventStore contract: a span sent again (an exporter's retry) is stored and counted once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from store_factories import T0, make_span, span_id

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import EventStore, SpanQuery
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("default")
OpenStore = Callable[[], EventStore]
METRICS = ("count", "cost_usd:sum", "total_tokens:sum", "error:rate", "latency_ms:p95")


def _batch(first: int, n: int, **overrides: object) -> list[Span]:
    return [
        make_span(
            i,
            model="gpt-4o-mini",
            total_tokens=100 + i,
            cost_usd=0.001 * (i + 1),
            status_code=StatusCode.ERROR if i % 4 == 0 else StatusCode.UNSET,
            **overrides,
        )
        for i in range(first, first + n)
    ]


def _totals(store: EventStore, project: ProjectName = P) -> tuple[float | None, ...]:
    q = MetricQuery(project=project, metrics=tuple(parse_metric(m) for m in METRICS))
    (row,) = store.metric(q).rows
    return (float(row.n), *row.values)


def test_append_twice_stores_each_span_once_and_metrics_do_not_move(
    event_store: EventStore,
) -> None:
    spans = _batch(0, 40)
    assert event_store.append_spans(spans) == 40
    before = _totals(event_store)
    assert before[0] == 40
    assert event_store.append_spans([replace(s) for s in spans]) == 0
    assert event_store.append_columns(spans_to_arrow(spans)) == 0
    assert event_store.stats().num_spans == 40
    assert _totals(event_store) == before


def test_copies_inside_one_batch_are_stored_once(event_store: EventStore) -> None:
    spans = _batch(0, 10)
    # Two retries merged into one group commit, plus a new span between them.
    assert event_store.append_spans([*spans, *_batch(10, 1), *spans]) == 11
    assert event_store.stats().num_spans == 11
    assert _totals(event_store)[0] == 11


def test_retry_mixed_with_new_spans_stores_only_the_new_ones(event_store: EventStore) -> None:
    old = _batch(0, 20)
    event_store.append_spans(old)
    later = [replace(s, start_time=s.start_time + timedelta(hours=5)) for s in _batch(100, 5)]
    # A batch spanning hours: a late retry of old spans arrives with new traffic.
    assert event_store.append_spans([*later, *old[3:7]]) == 5
    assert event_store.stats().num_spans == 25


def test_retry_after_reopen_is_stored_once(open_event_store: OpenStore) -> None:
    spans = _batch(0, 30)
    store = open_event_store()
    store.append_spans(spans)
    before = _totals(store)
    store.checkpoint()  # the first copy now lives in the compressed file, not the WAL
    store.close()
    store = open_event_store()
    try:
        assert store.append_spans(spans) == 0
        assert _totals(store) == before
        assert store.stats().num_spans == 30
    finally:
        store.close()


def test_same_ids_in_another_project_or_at_another_time_are_other_spans(
    event_store: EventStore,
) -> None:
    spans = _batch(0, 5)
    event_store.append_spans(spans)
    other = ProjectName("other")
    assert event_store.append_spans([replace(s, project=other) for s in spans]) == 5
    moved = [replace(s, start_time=s.start_time + timedelta(seconds=1)) for s in spans[:2]]
    assert event_store.append_spans(moved) == 2
    assert event_store.stats().num_spans == 12
    assert _totals(event_store, other)[0] == 5


def test_concurrent_appends_of_one_batch_store_it_once(event_store: EventStore) -> None:
    spans = _batch(0, 200)
    stored: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        n = event_store.append_spans(spans)
        with lock:
            stored.append(n)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(stored) == [0, 0, 0, 200]
    assert event_store.stats().num_spans == 200
    page = event_store.list_spans(SpanQuery(project=P, limit=1000))
    assert [s.span_id for s in page.items] == [span_id(i) for i in reversed(range(200))]


def test_retry_is_found_among_many_stored_row_groups(event_store: EventStore) -> None:
    # More than one 16k-row group: the start-time pruning must still find the old copy.
    n = 40_000
    spans = [
        make_span(i, start_time=T0 + timedelta(milliseconds=i), cost_usd=0.5) for i in range(n)
    ]
    for k in range(0, n, 10_000):
        event_store.append_spans(spans[k : k + 10_000])
    resent = [spans[5], spans[17_000], spans[39_999]]
    assert event_store.append_spans(resent) == 0
    assert event_store.stats().num_spans == n
