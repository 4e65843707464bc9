"""The fast span serializer produces exactly what the documented `SpanOut` model does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import (
    Message,
    RetrievedDocument,
    Span,
    SpanEvent,
    SpanKind,
    StatusCode,
)
from llmpulse.server.routes.models import SpanOut, span_to_dict

T = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)


def _span() -> Span:
    return Span(
        project=ProjectName("p"), trace_id=TraceId("ab" * 16), span_id=SpanId("cd" * 8),
        parent_span_id=SpanId("ef" * 8), name="llm", kind=SpanKind.LLM, start_time=T,
        end_time=T + timedelta(milliseconds=250), status_code=StatusCode.ERROR,
        status_message="boom", model="gpt-4o", provider="openai", prompt_tokens=10,
        completion_tokens=5, total_tokens=15, cost_usd=0.0012, session_id="s", user_id="u",
        environment="prod", version="v2", prediction_id=PredictionId("pred"), http_status=502,
        input_value="q", output_value="a",
        input_messages=(Message("user", "hi", ({"id": "1", "name": "f", "arguments": "{}"},)),),
        output_messages=(Message("assistant", "hello"),),
        documents=(RetrievedDocument("d1", "text", 0.5, {"src": "x"}),),
        exception_type="ValueError", exception_message="bad",
        events=(SpanEvent("exception", T, {"exception.type": "ValueError"}),),
        metadata={"tier": "pro", "n": 3}, tags=("a", "b"),
        attributes={"llm.model_name": "gpt-4o", "x": [1, 2]},
        resource_attributes={"service.name": "svc"},
    )  # fmt: skip


def test_span_to_dict_serializes_like_span_out() -> None:
    span = _span()
    fast = orjson.loads(orjson.dumps(span_to_dict(span), option=orjson.OPT_UTC_Z))
    documented = SpanOut.from_domain(span).model_dump(mode="json")
    assert fast == documented


def test_span_to_dict_serializes_whole_second_times_like_span_out() -> None:
    span = _span()
    whole = T.replace(microsecond=0)
    from dataclasses import replace

    span = replace(span, start_time=whole, end_time=whole + timedelta(seconds=1))
    fast = orjson.loads(orjson.dumps(span_to_dict(span), option=orjson.OPT_UTC_Z))
    assert fast == SpanOut.from_domain(span).model_dump(mode="json")


def test_metric_frame_json_matches_the_documented_model() -> None:
    from llmpulse.server.routes.metrics import MetricFrameOut, frame_to_dict
    from llmpulse.server.routes.models import to_json
    from llmpulse.store.metric_api import MetricFrame, MetricRow

    frame = MetricFrame(
        ("count", "latency_ms:p95"),
        ("metadata.tier",),
        [
            MetricRow(T, ("pro",), 3, (3.0, 120.5), (3, 3)),
            MetricRow(T.replace(microsecond=0), (None,), 1, (1.0, None), (1, 0)),
        ],
    )
    fast = orjson.loads(to_json(frame_to_dict(frame, 300)))  # what get_metrics sends
    assert fast == MetricFrameOut.from_frame(frame, 300).model_dump(mode="json")
