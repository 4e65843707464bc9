"""Span pages encoded straight from the store's rows equal, byte for byte, the old encoding.

The old path decoded each row into a `Span`, clipped it and mapped it to plain data
(`span_to_dict(*clip_span(row_to_span(row)))`); `plain_rows` must give the same JSON for
spans stored through the real store: unicode, nulls and empty values, floats, nested
attributes, tool calls, events, and values long enough to be clipped (those take the old
path, and the answer must still be the same).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Message, RetrievedDocument, Span, SpanEvent, SpanKind, StatusCode
from llmpulse.query.clip import MAX_CHARS, clip_span
from llmpulse.server.routes import span_rows
from llmpulse.server.routes.models import span_to_dict, to_json
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.codec import row_to_span
from llmpulse.store.events.duckdb import DuckDBEventStore

T = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
P = ProjectName("rows")


def _base(n: int) -> Span:
    start = T + timedelta(seconds=n, microseconds=n)
    return Span(
        project=P, trace_id=TraceId(f"{n:032x}"), span_id=SpanId(f"{n:016x}"),
        parent_span_id=None if n % 3 == 0 else SpanId(f"{n - 1:016x}"), name=f"span-{n}",
        kind=SpanKind.LLM, start_time=start, end_time=start + timedelta(milliseconds=n * 1.7),
        status_code=StatusCode.OK,
    )  # fmt: skip


def _planted() -> list[Span]:
    full = replace(
        _base(1),
        status_code=StatusCode.ERROR, status_message="boom ☃", model="gpt-4o", provider="openai",
        prompt_tokens=10, completion_tokens=5, total_tokens=15, cost_usd=0.0012,
        session_id="s-é", user_id="u", environment="prod", version="v2",
        prediction_id=PredictionId("pred"), http_status=502,
        input_value="Grüße, 世界 \u2028 \"quoted\" \\ back", output_value="a\nb\tc\x01",
        input_messages=(
            Message("system", "Be brief."),
            Message("user", "hi 👋", ({"id": "1", "name": "f", "arguments": '{"x": 1}'},)),
        ),
        output_messages=(Message("assistant", "hello"),),
        documents=(
            RetrievedDocument("d1", "text", 0.5, {"src": "x", "page": 3}),
            RetrievedDocument(None, "no id", None, None),
        ),
        exception_type="ValueError", exception_message="bad",
        events=(SpanEvent("exception", T, {"exception.type": "ValueError"}),
                SpanEvent("retry", T + timedelta(microseconds=1), {})),
        metadata={"tier": "pro", "n": 3, "f": 1e-7, "big": 1e22, "neg": -0.0, "none": None},
        tags=("a", "b", "ü"),
        attributes={"llm.model_name": "gpt-4o", "x": [1, 2.5, {"deep": [True, False]}],
                    "emoji": "🎉", "int64": 2**63 - 1, "uint64": 2**64 - 1},
        resource_attributes={"service.name": "svc"},
    )  # fmt: skip
    long = "x" * (MAX_CHARS + 1)
    return [
        full,
        _base(2),  # every optional field empty or null
        _base(3),
        replace(_base(4), input_value=long),  # a long text: clipped
        replace(_base(5), attributes={"blob": long, "small": 1}),  # a long attribute
        replace(_base(6), attributes={f"k{i}": "v" * 90 for i in range(120)}),  # > MAX as JSON
        replace(_base(7), documents=tuple(RetrievedDocument(str(i), "d") for i in range(201))),
        replace(_base(8), documents=tuple(RetrievedDocument(str(i), "d") for i in range(200))),
        replace(_base(9), input_messages=(Message("user", long),)),
        replace(_base(10), events=(SpanEvent("e", T, {"payload": "p" * MAX_CHARS}),)),
        replace(_base(11), metadata={"exact": "m" * (MAX_CHARS - 12)}),  # just under
        replace(_base(12), kind=SpanKind.RETRIEVER, metadata={"k": "a" * (MAX_CHARS - 7)}),
        replace(_base(13), end_time=_base(13).start_time),  # zero latency
        replace(_base(14), tags=()),
    ]


@pytest.fixture
def rows() -> list[tuple[object, ...]]:
    store = DuckDBEventStore(None)
    try:
        store.append_spans(_planted())
        page = store.list_span_rows(SpanQuery(P, limit=1000))
        assert len(page.items) == len(_planted())
        return page.items
    finally:
        store.close()


def _old(rows: list[tuple[object, ...]]) -> bytes:
    return to_json([span_to_dict(*clip_span(row_to_span(r))) for r in rows])


def test_rows_encode_byte_for_byte_as_the_decoded_spans(rows: list[tuple[object, ...]]) -> None:
    assert to_json(span_rows.plain_rows(rows)) == _old(rows)


def test_short_rows_take_the_short_way_and_long_ones_the_old_one(
    rows: list[tuple[object, ...]],
) -> None:
    short, long = [], []
    for r in rows:
        try:
            span_rows.plain_row(r)
            short.append(r[2])
        except span_rows._Clip:
            long.append(r[2])
    # Everything that is clipped goes the old way; plain spans, the full one and a dict just
    # at the limit as JSON the short way.
    clipped = {r[2] for r in rows if clip_span(row_to_span(r))[1]}
    assert clipped <= set(long)
    assert {f"{n:016x}" for n in (1, 2, 3, 11, 13, 14)} <= set(short)


def test_the_short_way_keeps_span_outs_keys_in_order() -> None:
    store = DuckDBEventStore(None)
    try:
        store.append_spans([_planted()[0]])
        (row,) = store.list_span_rows(SpanQuery(P)).items
    finally:
        store.close()
    assert list(span_rows.plain_row(row)) == list(span_to_dict(row_to_span(row)))
