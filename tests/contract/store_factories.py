"""Span and annotation factories for the store contract suites (deterministic, no randomness)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import (
    Annotation,
    Message,
    RetrievedDocument,
    Span,
    SpanEvent,
    SpanKind,
    StatusCode,
)

T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def trace_id(n: int) -> TraceId:
    """A 32-hex trace id made from ``n``."""
    return TraceId(f"{n:032x}")


def span_id(n: int) -> SpanId:
    """A 16-hex span id made from ``n``."""
    return SpanId(f"{n:016x}")


def make_span(n: int, **overrides: Any) -> Span:
    """A small LLM span number ``n``, starting ``n`` milliseconds after `T0`."""
    start = T0 + timedelta(milliseconds=n)
    span = Span(
        project=ProjectName("default"),
        trace_id=trace_id(n),
        span_id=span_id(n),
        parent_span_id=None,
        name="llm.call",
        kind=SpanKind.LLM,
        start_time=start,
        end_time=start + timedelta(milliseconds=250, microseconds=7),
    )
    return replace(span, **overrides) if overrides else span


def make_full_span(n: int, **overrides: Any) -> Span:
    """A span with every field set, JSON columns included (round-trip checks)."""
    start = T0 + timedelta(seconds=n, microseconds=123)
    span = Span(
        project=ProjectName("rich"),
        trace_id=trace_id(10_000 + n),
        span_id=span_id(10_000 + n),
        parent_span_id=span_id(20_000 + n),
        name="ChatCompletion",
        kind=SpanKind.LLM,
        start_time=start,
        end_time=start + timedelta(milliseconds=1500, microseconds=1),
        status_code=StatusCode.ERROR,
        status_message="rate limited",
        model="gpt-4o-mini",
        provider="openai",
        prompt_tokens=120,
        completion_tokens=30,
        total_tokens=150,
        cost_usd=0.00042,
        session_id="sess-1",
        user_id="user-7",
        environment="prod",
        version="1.2.3",
        prediction_id=PredictionId(f"pred-{n}"),
        http_status=429,
        input_value="What is the capital of France?",
        output_value="Paris — of course.",
        input_messages=(
            Message("system", "Be brief."),
            Message("user", "What is the capital of France?"),
        ),
        output_messages=(
            Message("assistant", "", tool_calls=({"name": "lookup", "arguments": "{}"},)),
        ),
        documents=(
            RetrievedDocument("doc-1", "Paris is the capital.", 0.92, {"source": "wiki"}),
            RetrievedDocument(None, "unscored", None, None),
        ),
        exception_type="RateLimitError",
        exception_message="slow down",
        events=(
            SpanEvent("exception", start + timedelta(milliseconds=3), {"exception.type": "X"}),
        ),
        metadata={"tier": "gold", "region": "eu", "n": 3, "nested": {"a": [1, 2]}},
        tags=("rag", "beta"),
        attributes={"llm.model_name": "gpt-4o-mini", "llm.invocation_parameters": "{}"},
        resource_attributes={"service.name": "shop", "telemetry.sdk.language": "python"},
    )
    return replace(span, **overrides) if overrides else span


def make_annotation(n: int, **overrides: Any) -> Annotation:
    """An LLM-judge annotation number ``n`` on span ``n``."""
    ann = Annotation(
        id=f"ann-{n}",
        project=ProjectName("default"),
        span_id=span_id(n),
        prediction_id=None,
        name="correctness",
        annotator_kind="LLM",
        created_at=T0 + timedelta(seconds=n),
        label="correct",
        score=0.9,
        explanation="matches the reference",
        metadata={"judge": "gpt-4o"},
    )
    return replace(ann, **overrides) if overrides else ann


_VOCABULARY = (
    "the a model answer question context document retrieval customer order refund policy "
    "shipping invoice account password reset price plan upgrade cancel support agent tool "
    "search result score latency token cost region europe asia america premium basic trial "
    "error timeout retry success failure summary detail report analysis because however"
)
_WORDS = tuple(_VOCABULARY.split())


def _sentence(seed: int, words: int) -> str:
    """Deterministic pseudo-random text (an LCG over a small vocabulary), so it compresses
    like prose rather than like one repeated string."""
    out, x = [], seed * 2654435761 % 2**32
    for _ in range(words):
        x = (1103515245 * x + 12345) % 2**31
        out.append(_WORDS[x % len(_WORDS)])
    return " ".join(out) + f" {seed}."


def make_rag_span(n: int, start: datetime = T0, spacing_us: int = 1_000) -> Span:
    """A ~3 kB RAG-style LLM span, as the ingest benchmarks use."""
    begin = start + timedelta(microseconds=n * spacing_us)
    return Span(
        project=ProjectName(f"proj-{n % 4}"),
        trace_id=trace_id(n // 4),
        span_id=span_id(n),
        parent_span_id=None if n % 4 == 0 else span_id(n - n % 4),
        name="ChatCompletion",
        kind=SpanKind.LLM if n % 4 else SpanKind.CHAIN,
        start_time=begin,
        end_time=begin + timedelta(milliseconds=200 + n % 700),
        status_code=StatusCode.ERROR if n % 50 == 0 else StatusCode.OK,
        model=("gpt-4o-mini", "claude-3-5-sonnet", "llama-3")[n % 3],
        provider="openai",
        prompt_tokens=500 + n % 100,
        completion_tokens=50 + n % 30,
        total_tokens=550 + n % 130,
        cost_usd=0.0001 * (n % 17),
        session_id=f"sess-{n % 1000}",
        user_id=f"user-{n % 5000}",
        environment="prod",
        version="1.0",
        input_value=f"question {n}: {_sentence(n, 40)}",
        output_value=f"answer {n}: {_sentence(n + 1, 50)}",
        input_messages=(
            Message("system", "You answer from the context only."),
            Message("user", _sentence(n + 2, 60)),
        ),
        output_messages=(Message("assistant", _sentence(n + 3, 50)),),
        documents=(
            RetrievedDocument(f"doc-{n % 97}", _sentence(n % 5000, 45), 0.5),
            RetrievedDocument(f"doc-{n % 89}", _sentence(n % 4000, 45), 0.4),
        ),
        metadata={
            "tier": ("gold", "silver", "bronze")[n % 3],
            "region": f"r{n % 7}",
            "customer": f"c{n % 10007}",
        },
        tags=("rag",),
        attributes={"llm.model_name": "gpt-4o-mini", "llm.temperature": 0.2},
        resource_attributes={"service.name": "shop"},
    )


def timed_span(
    n: int, project: ProjectName, start: datetime, latency_ms: float, *, root: bool
) -> Span:
    """Span number ``n`` of ``project`` starting at ``start`` and lasting ``latency_ms``: a
    root, or a child of span ``n - 1`` (the sketch suites' spans)."""
    return replace(
        make_span(n),
        span_id=span_id(n),
        project=project,
        parent_span_id=None if root else span_id(n - 1),
        start_time=start,
        end_time=start + timedelta(microseconds=round(latency_ms * 1000)),
    )


def stored_in_commits(spans: list[Span], per_commit: int, path: Any = None) -> Any:
    """A `DuckDBEventStore` (at ``path``, or in memory) holding ``spans`` committed
    ``per_commit`` at a time, none of them left in the summaries' backlog."""
    from llmpulse.store.events.duckdb import DuckDBEventStore

    s = DuckDBEventStore(path)
    for i in range(0, len(spans), per_commit):
        s.append_spans(spans[i : i + per_commit])
    s.catch_up()
    return s


def sketch_statement(store: Any, q: Any) -> Any:
    """The frame of `sketch.plan`'s statement for the metric query ``q`` on ``store`` (a
    `DuckDBEventStore`), with the summaries' backlog as it is: what the in-memory answers
    must equal."""
    from llmpulse.store.events import sketch
    from llmpulse.store.events.summary_upkeep import query_with

    pending = store.summary_upkeep.pending()
    p = sketch.plan(q, store.pair_keys.counted, pending=pending is not None)
    assert p is not None
    return sketch.frame(q, p, store._read(lambda cur: query_with(cur, pending, p.sql, p.params)))
