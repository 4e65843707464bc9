"""Spans: the one fact every trace, prediction and metric is made of.

A `Span` carries the typed columns every query touches; everything else stays in
``attributes`` (a JSON-able dict). Instants are aware UTC datetimes; integer nanoseconds
exist only at the OTLP and storage edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from llmpulse.clock import to_unix_us
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId


class SpanKind(StrEnum):
    """OpenInference span kinds, plus PREDICTION for SDK-logged predictions."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    RETRIEVER = "RETRIEVER"
    RERANKER = "RERANKER"
    EMBEDDING = "EMBEDDING"
    TOOL = "TOOL"
    AGENT = "AGENT"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    PROMPT = "PROMPT"
    PREDICTION = "PREDICTION"
    UNKNOWN = "UNKNOWN"


class StatusCode(StrEnum):
    """OTLP span status codes, by name."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message of an LLM call (``llm.input_messages`` / ``gen_ai.*``)."""

    role: str
    content: str
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class RetrievedDocument:
    """One document a retriever returned, with its score when known."""

    id: str | None
    content: str
    score: float | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timestamped span event (exceptions are events named ``exception``)."""

    name: str
    time: datetime
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """One normalized span, ready for the event store."""

    project: ProjectName
    trace_id: TraceId
    span_id: SpanId
    parent_span_id: SpanId | None
    name: str
    kind: SpanKind
    start_time: datetime
    end_time: datetime
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    model: str | None = None
    provider: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    environment: str | None = None
    version: str | None = None
    prediction_id: PredictionId | None = None
    http_status: int | None = None
    input_value: str | None = None
    output_value: str | None = None
    input_messages: tuple[Message, ...] = ()
    output_messages: tuple[Message, ...] = ()
    documents: tuple[RetrievedDocument, ...] = ()
    exception_type: str | None = None
    exception_message: str | None = None
    events: tuple[SpanEvent, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    resource_attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ms(self) -> float:
        """End minus start, in milliseconds."""
        return latency_ms(to_unix_us(self.start_time), to_unix_us(self.end_time))


def latency_ms(start_us: int, end_us: int) -> float:
    """End minus start in milliseconds, from integer Unix microseconds (the stored precision)."""
    return (end_us - start_us) / 1000.0


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one span of a request was not stored, by field path."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Annotation:
    """A label, score or explanation attached to a span (or to a prediction by its id)."""

    id: str
    project: ProjectName
    span_id: SpanId | None
    prediction_id: PredictionId | None
    name: str
    annotator_kind: str  # HUMAN, LLM, CODE
    created_at: datetime
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
