"""EventStore contract: `list_span_rows` is `list_spans` before decoding.

Every page of spans the store lists (newest first with a bound, by a sort, with a search, a
cursor, retried copies of a span) must come back as the same rows, in the same order and with
the same cursor, whether decoded into `Span`s or handed over as rows (ADR 0040).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from store_factories import T0, make_full_span, make_span

from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import AttrEquals, EventStore, SpanQuery, TimeRange
from llmpulse.store.events.codec import row_to_span

P = ProjectName("default")


def _queries() -> list[SpanQuery]:
    end = T0 + timedelta(milliseconds=150)
    return [
        SpanQuery(P),
        SpanQuery(P, limit=7),
        SpanQuery(P, TimeRange(None, end), limit=10),
        SpanQuery(P, TimeRange(T0 + timedelta(milliseconds=20), end), limit=1000),
        SpanQuery(P, sort="latency", limit=15),
        SpanQuery(P, sort="trace_cost", limit=5),
        SpanQuery(P, attributes=(AttrEquals("metadata.tier", "pro"),), limit=4),
        SpanQuery(ProjectName("rich"), text="capital", limit=2),
        SpanQuery(ProjectName("rich")),
    ]


def test_rows_are_the_listed_spans_undecoded(event_store: EventStore) -> None:
    spans = [
        replace(make_span(i), metadata={"tier": "pro" if i % 2 else "free"}) for i in range(200)
    ]
    event_store.append_spans(spans)
    event_store.append_spans(spans[:5])  # an exporter's retry: stored once, listed once
    event_store.append_spans([make_full_span(i) for i in range(3)])
    for q in _queries():
        page = event_store.list_spans(q)
        rows = event_store.list_span_rows(q)
        assert [row_to_span(r) for r in rows.items] == page.items, q
        assert rows.next_cursor == page.next_cursor, q
        if page.next_cursor is not None and q.sort == "time":
            after = replace(q, cursor=page.next_cursor)
            assert [row_to_span(r) for r in event_store.list_span_rows(after).items] == (
                event_store.list_spans(after).items
            )
