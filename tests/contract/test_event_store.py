"""EventStore contract: every engine must pass this suite unchanged."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from store_factories import (
    T0,
    make_annotation,
    make_full_span,
    make_span,
    span_id,
    trace_id,
)

from llmpulse.domain.errors import InvalidInput, Unavailable
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId
from llmpulse.domain.spans import Span, SpanKind, StatusCode
from llmpulse.store.api import AttrEquals, EventStore, SpanQuery, TimeRange
from llmpulse.store.events.codec import spans_to_arrow

P = ProjectName("default")
OpenStore = Callable[[], EventStore]


def _ids(spans: list[Span]) -> list[str]:
    return [s.span_id for s in spans]


def _list(store: EventStore, project: ProjectName = P, **kw: Any) -> list[str]:
    return _ids(store.list_spans(SpanQuery(project=project, **kw)).items)


def test_append_spans_round_trips_every_field_when_read_back(event_store: EventStore) -> None:
    full = make_full_span(1)
    assert event_store.append_spans([full]) == 1
    assert event_store.get_span(full.span_id) == full
    assert event_store.list_spans(SpanQuery(project=full.project)).items == [full]


def test_append_spans_round_trips_defaults_when_fields_are_empty(event_store: EventStore) -> None:
    bare = make_span(5)
    event_store.append_spans([bare])
    got = event_store.get_span(bare.span_id)
    assert got == bare
    assert got is not None
    assert got.start_time.tzinfo is not None
    assert got.latency_ms == pytest.approx(250.007)


def test_append_columns_refuses_table_when_columns_are_out_of_order(
    event_store: EventStore,
) -> None:
    table = spans_to_arrow([make_span(1)])
    names = table.column_names
    swapped = table.select([names[1], names[0], *names[2:]])
    with pytest.raises(ValueError, match="columns"):
        event_store.append_columns(swapped)
    assert event_store.stats().num_spans == 0
    assert event_store.append_columns(table) == 1


def test_append_spans_returns_zero_when_batch_is_empty(event_store: EventStore) -> None:
    assert event_store.append_spans([]) == 0
    assert event_store.append_annotations([]) == 0
    assert event_store.stats().num_spans == 0


def test_list_spans_returns_newest_first_of_one_project(event_store: EventStore) -> None:
    event_store.append_spans([make_span(i) for i in range(5)])
    event_store.append_spans([make_span(9, project=ProjectName("other"))])
    assert _list(event_store) == [span_id(i) for i in (4, 3, 2, 1, 0)]
    assert _list(event_store, project=ProjectName("other")) == [span_id(9)]
    assert _list(event_store, project=ProjectName("none")) == []


def test_list_spans_filters_time_range_half_open(event_store: EventStore) -> None:
    event_store.append_spans([make_span(i) for i in range(10)])
    window = TimeRange(T0 + timedelta(milliseconds=3), T0 + timedelta(milliseconds=6))
    assert _list(event_store, time=window) == [span_id(i) for i in (5, 4, 3)]
    assert _list(event_store, time=TimeRange(start=T0 + timedelta(milliseconds=8))) == [
        span_id(9),
        span_id(8),
    ]


def test_list_spans_filters_kind_status_model_and_name(event_store: EventStore) -> None:
    event_store.append_spans(
        [
            make_span(0),
            make_span(1, kind=SpanKind.RETRIEVER, name="retrieve"),
            make_span(2, status_code=StatusCode.ERROR, model="gpt-4o"),
            make_span(3, kind=SpanKind.TOOL, model="claude"),
        ]
    )
    assert _list(event_store, kinds=(SpanKind.RETRIEVER, SpanKind.TOOL)) == [
        span_id(3),
        span_id(1),
    ]
    assert _list(event_store, status=StatusCode.ERROR) == [span_id(2)]
    assert _list(event_store, models=("gpt-4o", "claude")) == [span_id(3), span_id(2)]
    assert _list(event_store, names=("retrieve",)) == [span_id(1)]
    assert _list(event_store, kinds=(SpanKind.TOOL,), models=("gpt-4o",)) == []


def test_list_spans_filters_attributes_by_every_key_form(event_store: EventStore) -> None:
    event_store.append_spans(
        [
            make_span(0, metadata={"tier": "gold", "n": 3, "a.b": "dotted"}, tags=("x",)),
            make_span(1, metadata={"tier": "silver"}, tags=("x", "y"), session_id="s1"),
            make_span(2, attributes={"llm.model_name": "m1", "retry": True}, user_id="u"),
            make_span(3, metadata={"note": 'say "hi" 100%'}, environment="prod"),
        ]
    )

    def by(key: str, value: str) -> list[str]:
        return _list(event_store, attributes=(AttrEquals(key, value),))

    assert by("metadata.tier", "gold") == [span_id(0)]
    assert by("metadata.n", "3") == [span_id(0)]
    assert by("metadata.a.b", "dotted") == [span_id(0)]
    assert by("metadata.note", 'say "hi" 100%') == [span_id(3)]
    assert by("tag", "x") == [span_id(1), span_id(0)]
    assert by("tag", "y") == [span_id(1)]
    assert by("session_id", "s1") == [span_id(1)]
    assert by("user_id", "u") == [span_id(2)]
    assert by("environment", "prod") == [span_id(3)]
    assert by("llm.model_name", "m1") == [span_id(2)]
    assert by("retry", "true") == [span_id(2)]
    assert by("metadata.tier", "bronze") == []
    both = (AttrEquals("tag", "x"), AttrEquals("metadata.tier", "silver"))
    assert _list(event_store, attributes=both) == [span_id(1)]


def test_list_spans_treats_hostile_values_as_data(event_store: EventStore) -> None:
    event_store.append_spans([make_span(0, metadata={"k": "v"})])
    hostile = "x' OR 1=1; DROP TABLE spans; --"
    assert _list(event_store, attributes=(AttrEquals("metadata.k", hostile),)) == []
    assert _list(event_store, attributes=(AttrEquals("session_id", hostile),)) == []
    assert _list(event_store, text=hostile) == []
    assert _list(event_store) == [span_id(0)]


@pytest.mark.parametrize("key", ["", "metadata.", 'llm."x', "a b", "x')--", "k\n"])
def test_list_spans_rejects_attribute_key_when_malformed(event_store: EventStore, key: str) -> None:
    with pytest.raises(InvalidInput) as info:
        event_store.list_spans(SpanQuery(project=P, attributes=(AttrEquals(key, "v"),)))
    assert info.value.errors[0].path == "attributes[0].key"


def test_list_spans_text_matches_any_case_and_literal_wildcards(event_store: EventStore) -> None:
    event_store.append_spans(
        [
            make_span(0, input_value="What is the CAPITAL of France?"),
            make_span(1, output_value="discount: 100% off_today"),
            make_span(2, input_value="discount: 1000 offXtoday"),
        ]
    )
    assert _list(event_store, text="capital") == [span_id(0)]
    assert _list(event_store, text="100% off_") == [span_id(1)]
    assert _list(event_store, text="nowhere") == []


def test_list_spans_filters_trace_and_roots(event_store: EventStore) -> None:
    root = make_span(0)
    child = make_span(1, trace_id=root.trace_id, parent_span_id=root.span_id)
    event_store.append_spans([root, child, make_span(2)])
    assert _list(event_store, trace_id=root.trace_id) == [span_id(1), span_id(0)]
    assert _list(event_store, root_only=True) == [span_id(2), span_id(0)]


def test_list_spans_pages_without_gaps_or_duplicates_when_times_tie(
    event_store: EventStore,
) -> None:
    # 5 spans share each start time, so the cursor must break ties on span_id.
    spans = [
        make_span(i, start_time=T0 + timedelta(seconds=i // 5), end_time=T0 + timedelta(hours=1))
        for i in range(103)
    ]
    for chunk in (spans[:40], spans[40:]):
        event_store.append_spans(chunk)
    expected = _ids(sorted(spans, key=lambda s: (s.start_time, s.span_id), reverse=True))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = event_store.list_spans(SpanQuery(project=P, limit=7, cursor=cursor))
        seen += _ids(page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages == 15


def test_list_spans_pages_with_filters_applied_to_every_page(event_store: EventStore) -> None:
    event_store.append_spans(
        [make_span(i, status_code=StatusCode.ERROR if i % 3 else StatusCode.OK) for i in range(30)]
    )
    first = event_store.list_spans(SpanQuery(project=P, status=StatusCode.ERROR, limit=15))
    second = event_store.list_spans(
        SpanQuery(project=P, status=StatusCode.ERROR, limit=15, cursor=first.next_cursor)
    )
    assert len(first.items) == 15
    assert len(second.items) == 5
    assert second.next_cursor is None
    assert all(s.status_code is StatusCode.ERROR for s in first.items + second.items)


def test_list_spans_has_no_next_cursor_when_page_is_exactly_full(event_store: EventStore) -> None:
    event_store.append_spans([make_span(i) for i in range(4)])
    page = event_store.list_spans(SpanQuery(project=P, limit=4))
    assert len(page.items) == 4
    assert page.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage!", "", "W10", "eyJhIjoxfQ"])
def test_list_spans_rejects_cursor_when_not_issued_by_store(
    event_store: EventStore, cursor: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        event_store.list_spans(SpanQuery(project=P, cursor=cursor))
    assert info.value.errors[0].path == "cursor"


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_list_spans_rejects_limit_when_out_of_range(event_store: EventStore, limit: int) -> None:
    with pytest.raises(InvalidInput):
        event_store.list_spans(SpanQuery(project=P, limit=limit))


def test_get_trace_returns_spans_of_every_project_oldest_first(event_store: EventStore) -> None:
    tid = trace_id(77)
    spans = [
        make_span(3, trace_id=tid),
        make_span(1, trace_id=tid, project=ProjectName("other")),
        make_span(2, trace_id=tid, parent_span_id=span_id(1)),
        make_span(4),
    ]
    event_store.append_spans(spans)
    assert _ids(event_store.get_trace(tid)) == [span_id(1), span_id(2), span_id(3)]
    assert event_store.get_trace(trace_id(999)) == []


def test_get_span_returns_none_when_unknown(event_store: EventStore) -> None:
    event_store.append_spans([make_span(1)])
    assert event_store.get_span(SpanId("ffffffffffffffff")) is None


def test_find_prediction_returns_span_of_that_project(event_store: EventStore) -> None:
    pid = PredictionId("pred-1")
    event_store.append_spans(
        [
            make_span(1, prediction_id=pid, kind=SpanKind.PREDICTION),
            make_span(2, prediction_id=pid, project=ProjectName("other")),
        ]
    )
    found = event_store.find_prediction(P, pid)
    assert found is not None
    assert found.span_id == span_id(1)
    assert event_store.find_prediction(P, PredictionId("nope")) is None


def test_list_annotations_matches_span_ids_and_prediction_ids(event_store: EventStore) -> None:
    a1 = make_annotation(1)
    a2 = make_annotation(2, created_at=T0 - timedelta(days=1))
    a3 = make_annotation(3, span_id=None, prediction_id=PredictionId("p-3"), score=None)
    a4 = make_annotation(4)
    assert event_store.append_annotations([a1, a2, a3, a4]) == 4
    got = event_store.list_annotations([span_id(1), span_id(2)], [PredictionId("p-3")])
    assert got == [a2, a1, a3]
    assert event_store.list_annotations([span_id(4)]) == [a4]
    assert event_store.list_annotations([]) == []
    assert event_store.list_annotations([SpanId("0" * 16)]) == []


def test_project_stats_counts_spans_traces_and_time_span(event_store: EventStore) -> None:
    event_store.append_spans(
        [make_span(i, trace_id=trace_id(i // 2)) for i in range(6)]
        + [make_span(100, project=ProjectName("b"))]
    )
    stats = {s.name: s for s in event_store.project_stats()}
    assert sorted(stats) == ["b", "default"]
    assert stats[P].num_spans == 6
    assert stats[P].num_traces == 3
    assert stats[P].first_seen == make_span(0).start_time
    assert stats[P].last_seen == make_span(5).start_time
    assert stats[ProjectName("b")].num_traces == 1


def test_stats_counts_rows_and_bytes(event_store: EventStore) -> None:
    event_store.append_spans([make_full_span(i) for i in range(3)])
    event_store.append_annotations([make_annotation(1)])
    stats = event_store.stats()
    assert (stats.num_spans, stats.num_annotations) == (3, 1)
    assert stats.bytes_on_disk > 0


def test_reopen_after_close_keeps_spans_and_annotations(open_event_store: OpenStore) -> None:
    first = open_event_store()
    full = make_full_span(2)
    first.append_spans([full, make_span(1)])
    first.append_annotations([make_annotation(1)])
    first.close()
    first.close()  # idempotent
    again = open_event_store()
    try:
        assert again.get_span(full.span_id) == full
        assert again.stats().num_spans == 2
        assert again.list_annotations([span_id(1)]) == [make_annotation(1)]
    finally:
        again.close()


def test_store_refuses_use_when_closed(open_event_store: OpenStore) -> None:
    store = open_event_store()
    store.close()
    with pytest.raises(Unavailable):
        store.append_spans([make_span(1)])
    with pytest.raises(Unavailable):
        store.get_span(span_id(1))


def test_reads_from_threads_see_appends_of_writer_thread(event_store: EventStore) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            last = 0
            while not done.is_set():
                n = len(event_store.list_spans(SpanQuery(project=P, limit=1000)).items)
                assert n >= last  # committed data never disappears
                last = n
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    writer = threading.Thread(
        target=lambda: [
            event_store.append_spans([make_span(b * 10 + i) for i in range(10)]) for b in range(20)
        ]
    )
    writer.start()
    writer.join()
    done.set()
    for t in readers:
        t.join()
    assert errors == []
    assert len(event_store.list_spans(SpanQuery(project=P, limit=1000)).items) == 200


def test_list_spans_shows_span_once_when_it_was_stored_twice(event_store: EventStore) -> None:
    # An exporter retry after a lost response stores a batch twice.
    spans = [make_span(i) for i in range(6)]
    event_store.append_spans(spans)
    event_store.append_spans([replace(s) for s in spans])
    seen: list[str] = []
    cursor = None
    while True:
        page = event_store.list_spans(SpanQuery(project=P, limit=4, cursor=cursor))
        seen += _ids(page.items)
        if (cursor := page.next_cursor) is None:
            break
    assert seen == [span_id(i) for i in (5, 4, 3, 2, 1, 0)]
    assert _ids(event_store.get_trace(spans[0].trace_id)) == [span_id(0)]


def test_append_spans_stores_nothing_when_a_field_has_wrong_type(event_store: EventStore) -> None:
    bad = make_span(2, prompt_tokens="many")
    with pytest.raises(InvalidInput) as info:
        event_store.append_spans([make_span(1), bad])
    assert info.value.errors[0].path == "prompt_tokens"
    assert event_store.stats().num_spans == 0
