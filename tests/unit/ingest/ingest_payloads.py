"""Builders of OTLP protobuf requests for the ingest unit tests (not collected by pytest)."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

BASE_NS = 1_763_900_000_000_000_000  # 2025-11-23T12:13:20Z
TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
ROOT_ID = bytes.fromhex("b7ad6b7169203331")
RETRIEVER_ID = bytes.fromhex("00f067aa0ba902b7")
LLM_ID = bytes.fromhex("53995c3f42cd8ad8")


def any_value(value: Any) -> AnyValue:
    """Python value → OTLP AnyValue (lists become arrays, dicts kvlists)."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    return AnyValue(string_value=str(value))


def key_values(attrs: dict[str, Any]) -> list[KeyValue]:
    """A dict → repeated KeyValue."""
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


def span(
    name: str = "span",
    *,
    trace_id: bytes = TRACE_ID,
    span_id: bytes = LLM_ID,
    parent: bytes = b"",
    start_ns: int = BASE_NS,
    end_ns: int | None = None,
    attrs: dict[str, Any] | None = None,
    status: tuple[int, str] | None = None,
    events: list[tuple[str, int, dict[str, Any]]] | None = None,
) -> Span:
    """One protobuf span."""
    out = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + 250_000_000 if end_ns is None else end_ns,
        attributes=key_values(attrs or {}),
    )
    if status is not None:
        out.status.CopyFrom(Status(code=status[0], message=status[1]))  # type: ignore[arg-type]
    for ev_name, ev_ns, ev_attrs in events or []:
        out.events.add(name=ev_name, time_unix_nano=ev_ns, attributes=key_values(ev_attrs))
    return out


def request(
    spans: list[Span],
    resource: dict[str, Any] | None = None,
    scope: str = "openinference.instrumentation.test",
) -> ExportTraceServiceRequest:
    """Wrap spans in one resource and one scope."""
    rs = ResourceSpans(
        resource=Resource(attributes=key_values(resource or {})),
        scope_spans=[
            ScopeSpans(scope=InstrumentationScope(name=scope, version="1.0"), spans=spans)
        ],
    )
    return ExportTraceServiceRequest(resource_spans=[rs])


def rag_trace(seed: int = 0) -> list[Span]:
    """A realistic three-span RAG trace (chain → retriever, llm), about 3 kB per span."""
    question = f"What does the warranty cover for order {seed}? " * 5
    chunks = [
        f"Chunk {i}: the warranty covers parts and labour for two years. " * 7 for i in range(4)
    ]
    context = "\n".join(chunks)
    answer = "The warranty covers parts and labour for two years from delivery. " * 8
    root = span(
        "rag.query",
        span_id=ROOT_ID,
        end_ns=BASE_NS + 1_900_000_000,
        attrs={
            "openinference.span.kind": "CHAIN",
            "input.value": question,
            "input.mime_type": "text/plain",
            "output.value": answer,
            "output.mime_type": "text/plain",
            "session.id": f"session-{seed % 50}",
            "user.id": f"user-{seed % 200}",
            "metadata": json.dumps({"tier": "gold", "region": "eu-west", "intent": "warranty"}),
            "tag.tags": ["warranty", "support"],
            "http.response.status_code": 200,
            "llm.prompt_template.template": "Answer using the context: {context}\n\n{question}" * 8,
        },
    )
    documents: dict[str, Any] = {"openinference.span.kind": "RETRIEVER", "input.value": question}
    for i, chunk in enumerate(chunks):
        documents[f"retrieval.documents.{i}.document.id"] = f"doc-{i}"
        documents[f"retrieval.documents.{i}.document.content"] = chunk
        documents[f"retrieval.documents.{i}.document.score"] = 0.9 - i / 10
        documents[f"retrieval.documents.{i}.document.metadata"] = json.dumps({"source": "kb"})
    retriever = span(
        "retrieve",
        span_id=RETRIEVER_ID,
        parent=ROOT_ID,
        start_ns=BASE_NS + 10_000_000,
        end_ns=BASE_NS + 300_000_000,
        attrs=documents,
    )
    llm = span(
        "ChatCompletion",
        span_id=LLM_ID,
        parent=ROOT_ID,
        start_ns=BASE_NS + 310_000_000,
        end_ns=BASE_NS + 1_880_000_000,
        attrs={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.system": "openai",
            "llm.invocation_parameters": json.dumps({"temperature": 0.1, "max_tokens": 512}),
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Answer using the context.\n" + context,
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": question,
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": answer,
            "llm.token_count.prompt": 512 + seed % 7,
            "llm.token_count.completion": 64,
            "llm.token_count.total": 576 + seed % 7,
            "input.value": question,
            "output.value": answer,
        },
    )
    return [root, retriever, llm]
