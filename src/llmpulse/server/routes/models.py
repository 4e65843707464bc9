"""Response models shared by the span, trace and project routes (``…Out``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

from llmpulse.domain.spans import Annotation, Message, Span
from llmpulse.governance.annotations import annotator_of
from llmpulse.query.clip import Clipped


class MessageOut(BaseModel):
    """One chat message."""

    role: str
    content: str
    tool_calls: list[dict[str, Any]] = []


class DocumentOut(BaseModel):
    """One retrieved document."""

    id: str | None
    content: str
    score: float | None
    metadata: dict[str, Any] | None


class EventOut(BaseModel):
    """One span event."""

    name: str
    time: datetime
    attributes: dict[str, Any]


class TruncatedOut(BaseModel):
    """A value a listing shows cut (see `llmpulse.query.clip`), and where to get it whole."""

    field: str
    key: str | None
    url: str


class SpanOut(BaseModel):
    """A span as the REST API shows it."""

    project: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_time: datetime
    end_time: datetime
    latency_ms: float
    status_code: str
    status_message: str
    model: str | None
    provider: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cost_usd: float | None
    session_id: str | None
    user_id: str | None
    environment: str | None
    version: str | None
    prediction_id: str | None
    http_status: int | None
    input_value: str | None
    output_value: str | None
    input_messages: list[MessageOut]
    output_messages: list[MessageOut]
    documents: list[DocumentOut]
    exception_type: str | None
    exception_message: str | None
    events: list[EventOut]
    metadata: dict[str, Any]
    tags: list[str]
    attributes: dict[str, Any]
    resource_attributes: dict[str, Any]
    truncated: list[TruncatedOut] = []

    @classmethod
    def from_domain(cls, s: Span, clipped: Sequence[Clipped] = ()) -> SpanOut:
        """Map a domain span (the same mapping `span_to_dict` serializes directly)."""
        return cls.model_validate(span_to_dict(s, clipped))


def fast_json(body: Any) -> Response:
    """Serialize plain data with orjson (UTC as ``Z``), skipping response-model validation.

    For routes whose documented model is declared with ``response_model`` but whose bodies are
    large (span pages, long metric series): validation would cost more than the query.
    """
    return json_response(to_json(body))


def to_json(body: Any) -> bytes:
    """Plain data as the JSON `fast_json` sends (for answers cached already serialized)."""
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)


def json_response(body: bytes) -> Response:
    """A 200 response of JSON bytes serialized beforehand."""
    return Response(body, media_type="application/json")


def span_to_dict(s: Span, clipped: Sequence[Clipped] = ()) -> dict[str, Any]:
    """The `SpanOut` shape as plain data, for fast serialization of span lists (orjson).

    ``clipped`` lists the values of ``s`` that `clip_span` cut (``truncated`` in the answer).
    """
    return {
        "project": s.project,
        "trace_id": s.trace_id,
        "span_id": s.span_id,
        "parent_span_id": s.parent_span_id,
        "name": s.name,
        "kind": str(s.kind),
        "start_time": s.start_time,
        "end_time": s.end_time,
        "latency_ms": s.latency_ms,
        "status_code": str(s.status_code),
        "status_message": s.status_message,
        "model": s.model,
        "provider": s.provider,
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "total_tokens": s.total_tokens,
        "cost_usd": s.cost_usd,
        "session_id": s.session_id,
        "user_id": s.user_id,
        "environment": s.environment,
        "version": s.version,
        "prediction_id": s.prediction_id,
        "http_status": s.http_status,
        "input_value": s.input_value,
        "output_value": s.output_value,
        "input_messages": [_message(m) for m in s.input_messages],
        "output_messages": [_message(m) for m in s.output_messages],
        "documents": [
            {"id": d.id, "content": d.content, "score": d.score, "metadata": d.metadata}
            for d in s.documents
        ],
        "exception_type": s.exception_type,
        "exception_message": s.exception_message,
        "events": [{"name": e.name, "time": e.time, "attributes": e.attributes} for e in s.events],
        "metadata": s.metadata,
        "tags": list(s.tags),
        "attributes": s.attributes,
        "resource_attributes": s.resource_attributes,
        "truncated": [{"field": c.field, "key": c.key, "url": c.url(s.span_id)} for c in clipped],
    }


def _message(m: Message) -> dict[str, Any]:
    return {"role": m.role, "content": m.content, "tool_calls": list(m.tool_calls)}


class AnnotationOut(BaseModel):
    """An annotation as the REST API shows it."""

    id: str
    project: str
    span_id: str | None
    prediction_id: str | None
    name: str
    annotator_kind: str
    created_at: datetime
    label: str | None
    score: float | None
    explanation: str | None
    metadata: dict[str, Any]
    annotator: str | None = None  # who made a human annotation (`annotator_of`)

    @classmethod
    def from_domain(cls, a: Annotation) -> AnnotationOut:
        """Map a domain annotation."""
        return cls(
            id=a.id,
            project=a.project,
            span_id=a.span_id,
            prediction_id=a.prediction_id,
            name=a.name,
            annotator_kind=a.annotator_kind,
            created_at=a.created_at,
            label=a.label,
            score=a.score,
            explanation=a.explanation,
            metadata=a.metadata,
            annotator=annotator_of(a),
        )
