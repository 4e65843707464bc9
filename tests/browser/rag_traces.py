"""Deterministic RAG traces in OTLP/JSON with OpenInference attributes, for the UI tests."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

BASE_NS = 1_763_900_000_000_000_000  # 2025-11-23T12:13:20Z
MS = 1_000_000


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def _span(
    name: str,
    trace_hex: str,
    span_hex: str,
    parent_hex: str,
    window_ms: tuple[int, int],
    attrs: dict[str, Any],
    error: str | None = None,
) -> dict[str, Any]:
    start_ms, end_ms = window_ms
    span: dict[str, Any] = {
        "traceId": trace_hex,
        "spanId": span_hex,
        "parentSpanId": parent_hex,
        "name": name,
        "kind": "SPAN_KIND_INTERNAL",
        "startTimeUnixNano": str(BASE_NS + start_ms * MS),
        "endTimeUnixNano": str(BASE_NS + end_ms * MS),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
        "status": {"code": 1},
    }
    if error:
        span["status"] = {"code": 2, "message": error}
        span["events"] = [
            {
                "name": "exception",
                "timeUnixNano": str(BASE_NS + end_ms * MS),
                "attributes": [
                    {"key": "exception.type", "value": {"stringValue": "RateLimitError"}},
                    {"key": "exception.message", "value": {"stringValue": error}},
                ],
            }
        ]
    return span


@dataclass(frozen=True)
class RagTrace:
    """Ids of one posted RAG trace: a CHAIN root with a RETRIEVER and an LLM child."""

    trace_id: str
    root_id: str
    retriever_id: str
    llm_id: str
    root_name: str
    question: str


def rag_trace_spans(
    root_name: str, question: str, region: str, offset_ms: int, failing: bool = False
) -> tuple[RagTrace, list[dict[str, Any]]]:
    """One RAG trace's spans, starting ``offset_ms`` after `BASE_NS`."""
    ids = RagTrace(
        secrets.token_hex(16),
        secrets.token_hex(8),
        secrets.token_hex(8),
        secrets.token_hex(8),
        root_name,
        question,
    )
    t = offset_ms
    error = "429 Too Many Requests" if failing else None
    root = _span(
        root_name, ids.trace_id, ids.root_id, "", (t, t + 1200),
        {
            "openinference.span.kind": "CHAIN",
            "input.value": question,
            "output.value": "llmpulse is an observability platform.",
            "session.id": "sess-ui-1",
            "user.id": "user-7",
            "metadata": json.dumps({"region": region, "tier": "gold"}),
        },
        error=error,
    )  # fmt: skip
    retriever = _span(
        "retrieve-docs", ids.trace_id, ids.retriever_id, ids.root_id, (t + 10, t + 300),
        {
            "openinference.span.kind": "RETRIEVER",
            "input.value": question,
            "retrieval.documents.0.document.id": "doc-alpha",
            "retrieval.documents.0.document.content": "llmpulse stores spans in DuckDB.",
            "retrieval.documents.0.document.score": 0.91,
            "retrieval.documents.1.document.id": "doc-beta",
            "retrieval.documents.1.document.content": "Phoenix is a peer project.",
            "retrieval.documents.1.document.score": 0.42,
        },
    )  # fmt: skip
    llm = _span(
        "chat-completion", ids.trace_id, ids.llm_id, ids.root_id, (t + 310, t + 1150),
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 420,
            "llm.token_count.completion": 80,
            "llm.token_count.total": 500,
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Answer from the context only.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": question,
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "It is an observability platform.",
        },
        error=error,
    )  # fmt: skip
    return ids, [root, retriever, llm]


def post_spans(base_url: str, project: str, spans: list[dict[str, Any]]) -> None:
    """POST spans as OTLP/JSON; fails the test unless every span was accepted."""
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "openinference.project.name", "value": {"stringValue": project}}
                    ]
                },
                "scopeSpans": [{"scope": {"name": "ui-tests"}, "spans": spans}],
            }
        ]
    }
    r = httpx.post(f"{base_url}/v1/traces", json=body, timeout=30.0)
    assert r.status_code == 200, r.text
    partial = r.json().get("partialSuccess") or {}
    assert not int(partial.get("rejectedSpans") or 0), r.text
