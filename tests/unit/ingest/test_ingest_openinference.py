"""OTLP span → Span: OpenInference mapping, validation with paths, project resolution."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from ingest_payloads import BASE_NS, LLM_ID, ROOT_ID, TRACE_ID, rag_trace, request, span
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope

from llmpulse.domain.spans import (
    Message,
    Rejection,
    RetrievedDocument,
    Span,
    SpanKind,
    StatusCode,
)
from llmpulse.ingest.openinference import normalize_request, resolve_project, to_span

SCOPE = InstrumentationScope(name="openinference.instrumentation.test", version="2.0")
PATH = "resource_spans[0].scope_spans[0].spans[0]"


def convert(attrs: dict[str, Any], **kwargs: Any) -> Span:
    result = to_span({}, SCOPE, span(attrs=attrs, **kwargs), PATH, "proj")
    assert isinstance(result, Span), result
    return result


def reject(**kwargs: Any) -> Rejection:
    result = to_span({}, SCOPE, span(**kwargs), PATH, "proj")
    assert isinstance(result, Rejection), result
    return result


# (attributes, the typed columns they must produce)
OPENINFERENCE_EXAMPLES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "llm-basic",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o",
            "llm.provider": "azure",
            "llm.system": "openai",
            "llm.token_count.prompt": 100,
            "llm.token_count.completion": 20,
        },
        {
            "kind": SpanKind.LLM,
            "model": "gpt-4o",
            "provider": "azure",
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "total_tokens": 120,
        },
    ),
    (
        "kind-lowercase-and-response-model-wins",
        {
            "openinference.span.kind": "llm",
            "llm.model_name": "gpt-4o",
            "llm.response.model_name": "gpt-4o-2024-08-06",
            "llm.system": "openai",
            "llm.token_count.total": "50",
        },
        {
            "kind": SpanKind.LLM,
            "model": "gpt-4o-2024-08-06",
            "provider": "openai",
            "total_tokens": 50,
        },
    ),
    ("unknown-kind", {"openinference.span.kind": "BANANA"}, {"kind": SpanKind.UNKNOWN}),
    ("no-kind-plain", {"http.method": "GET"}, {"kind": SpanKind.UNKNOWN}),
    ("no-kind-with-llm-model", {"llm.model_name": "m"}, {"kind": SpanKind.LLM, "model": "m"}),
    (
        "embedding",
        {"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small"},
        {"kind": SpanKind.EMBEDDING, "model": "text-embedding-3-small"},
    ),
    (
        "session-user-io",
        {
            "openinference.span.kind": "CHAIN",
            "session.id": "s-1",
            "user.id": 42,
            "input.value": "q",
            "output.value": "a",
        },
        {
            "kind": SpanKind.CHAIN,
            "session_id": "s-1",
            "user_id": "42",
            "input_value": "q",
            "output_value": "a",
        },
    ),
    (
        "metadata-and-tags",
        {"metadata": json.dumps({"tier": "gold"}), "tag.tags": ["a", "b"]},
        {"metadata": {"tier": "gold"}, "tags": ("a", "b")},
    ),
    ("metadata-invalid-json", {"metadata": "{not json"}, {"metadata": {"_raw": "{not json"}}),
    (
        "cost-total",
        {"llm.cost.total": 0.5, "llm.cost.prompt": 0.1},
        {"cost_usd": 0.5},
    ),
    ("cost-parts", {"llm.cost.prompt": 0.25, "llm.cost.completion": 0.5}, {"cost_usd": 0.75}),
    (
        "environment-version-http",
        {"deployment.environment": "prod", "model.version": "v7", "http.status_code": "503"},
        {"environment": "prod", "version": "v7", "http_status": 503},
    ),
    (
        "total-from-prompt-only",
        {"llm.token_count.prompt": 9},
        {"prompt_tokens": 9, "completion_tokens": None, "total_tokens": 9},
    ),
]


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [pytest.param(a, e, id=name) for name, a, e in OPENINFERENCE_EXAMPLES],
)
def test_to_span_maps_openinference_attributes_to_typed_columns(
    attrs: dict[str, Any], expected: dict[str, Any]
) -> None:
    result = convert(attrs)
    assert {column: getattr(result, column) for column in expected} == expected


def test_to_span_parses_flattened_messages_with_tool_calls_in_index_order() -> None:
    tool_call = "llm.output_messages.0.message.tool_calls.0.tool_call"
    attrs = {
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "weather in Paris?",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "be brief",
        "llm.output_messages.0.message.role": "assistant",
        f"{tool_call}.id": "call_1",
        f"{tool_call}.function.name": "weather",
        f"{tool_call}.function.arguments": '{"city":"Paris"}',
        "llm.output_messages.0.message.name": "kept",
    }
    result = convert(attrs)
    assert result.kind is SpanKind.LLM
    assert result.input_messages == (
        Message("system", "be brief"),
        Message("user", "weather in Paris?"),
    )
    call = {"id": "call_1", "name": "weather", "arguments": '{"city":"Paris"}'}
    assert result.output_messages == (Message("assistant", "", (call,)),)
    # What no typed column captured stays, under its original key; the rest is dropped.
    assert result.attributes["llm.output_messages.0.message.name"] == "kept"
    assert not any(k.startswith("llm.input_messages.") for k in result.attributes)


def test_to_span_takes_message_text_from_contents_when_content_is_absent() -> None:
    attrs = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.contents.0.message_content.type": "text",
        "llm.input_messages.0.message.contents.0.message_content.text": "describe this",
        "llm.input_messages.0.message.contents.1.message_content.type": "image",
        "llm.input_messages.0.message.contents.1.message_content.image.image.url": "http://x/y.png",
    }
    result = convert(attrs)
    assert result.input_messages == (Message("user", "describe this"),)
    key = "llm.input_messages.0.message.contents.1.message_content.image.image.url"
    assert result.attributes[key] == "http://x/y.png"


def test_to_span_parses_retrieved_documents() -> None:
    result = convert(
        {
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.0.document.id": 7,
            "retrieval.documents.0.document.content": "alpha",
            "retrieval.documents.0.document.score": 0.8,
            "retrieval.documents.0.document.metadata": '{"source": "kb"}',
            "retrieval.documents.1.document.content": "beta",
        }
    )
    assert result.documents == (
        RetrievedDocument(id="7", content="alpha", score=0.8, metadata={"source": "kb"}),
        RetrievedDocument(id=None, content="beta", score=None, metadata=None),
    )


def test_to_span_keeps_other_attributes_as_json_values_and_records_scope() -> None:
    vector = [0.1, 0.2, 0.3]
    result = convert(
        {
            "llm.invocation_parameters": '{"temperature": 0}',
            "embedding.embeddings.0.embedding.vector": vector,
            "embedding.embeddings.0.embedding.text": "hi",
            "custom.map": {"a": 1, "b": [True, None]},
            "custom.bytes": b"\x00\x01",
            "input.mime_type": "text/plain",
        }
    )
    assert result.attributes == {
        "llm.invocation_parameters": '{"temperature": 0}',
        "embedding.embeddings.0.embedding.vector": vector,
        "embedding.embeddings.0.embedding.text": "hi",
        "custom.map": {"a": 1, "b": [True, None]},
        "custom.bytes": "AAE=",
        "input.mime_type": "text/plain",
        "otel.scope.name": "openinference.instrumentation.test",
        "otel.scope.version": "2.0",
    }


def test_to_span_converts_ids_times_and_status() -> None:
    result = convert({}, parent=ROOT_ID, status=(2, "bad gateway"), end_ns=BASE_NS + 1_500_000)
    assert result.trace_id == TRACE_ID.hex()
    assert result.span_id == LLM_ID.hex()
    assert result.parent_span_id == ROOT_ID.hex()
    assert result.start_time == datetime(2025, 11, 23, 12, 13, 20, tzinfo=UTC)
    assert result.latency_ms == pytest.approx(1.5)
    assert (result.status_code, result.status_message) == (StatusCode.ERROR, "bad gateway")


def test_to_span_fills_exception_from_first_exception_event_when_error_has_no_message() -> None:
    events = [
        ("retry", BASE_NS + 1, {}),
        ("exception", BASE_NS + 2, {"exception.type": "ValueError", "exception.message": "first"}),
        ("exception", BASE_NS + 3, {"exception.type": "KeyError", "exception.message": "second"}),
    ]
    result = convert({}, status=(2, ""), events=events)
    assert (result.exception_type, result.exception_message) == ("ValueError", "first")
    assert result.status_message == "first"
    assert [e.name for e in result.events] == ["retry", "exception", "exception"]
    assert result.events[1].attributes["exception.type"] == "ValueError"


@pytest.mark.parametrize(
    ("kwargs", "field", "reason_part"),
    [
        ({"trace_id": b"\x01" * 15}, "trace_id", "16 bytes"),
        ({"trace_id": bytes(16)}, "trace_id", "all zeros"),
        ({"span_id": b"\x01" * 9}, "span_id", "8 bytes"),
        ({"span_id": bytes(8)}, "span_id", "all zeros"),
        ({"parent": b"\x01" * 4}, "parent_span_id", "8 bytes"),
        ({"start_ns": 0}, "start_time_unix_nano", "missing"),
        ({"end_ns": 0}, "end_time_unix_nano", "missing"),
        ({"start_ns": 1_000, "end_ns": 2_000}, "start_time_unix_nano", "1970-01-02"),
        ({"start_ns": BASE_NS, "end_ns": 8_000_000_000 * 10**9}, "end_time_unix_nano", "2200"),
        (
            {"start_ns": BASE_NS, "end_ns": BASE_NS - 1},
            "end_time_unix_nano",
            "ends before it starts",
        ),
    ],
)
def test_to_span_rejects_invalid_field_with_its_path(
    kwargs: dict[str, Any], field: str, reason_part: str
) -> None:
    rejection = reject(**kwargs)
    assert rejection.path == f"{PATH}.{field}"
    assert reason_part in rejection.reason


def test_to_span_accepts_empty_name_and_zero_duration() -> None:
    result = convert({}, end_ns=BASE_NS)
    assert result.name == "span"
    nameless = to_span({}, SCOPE, span(name=""), PATH, "proj")
    assert isinstance(nameless, Span)
    assert nameless.name == ""


@pytest.mark.parametrize(
    ("resource", "header", "expected"),
    [
        ({"openinference.project.name": "oi", "service.name": "svc"}, "hdr", "oi"),
        ({"service.name": "svc"}, "hdr", "hdr"),
        ({"service.name": "svc"}, None, "svc"),
        ({"service.name": "unknown_service:python"}, None, "default"),
        ({}, None, "default"),
        ({"openinference.project.name": ""}, "", "default"),
    ],
)
def test_resolve_project_follows_resource_header_service_default_order(
    resource: dict[str, Any], header: str | None, expected: str
) -> None:
    assert resolve_project(resource, header) == expected


def test_normalize_request_keeps_neighbours_of_a_rejected_span_and_reports_its_path() -> None:
    spans = rag_trace()
    spans[1].end_time_unix_nano = spans[1].start_time_unix_nano - 1
    req = request(spans, {"service.name": "rag-app", "deployment.environment": "prod"})
    out = normalize_request(req, header_project=None)
    assert [s.name for s in out.spans] == ["rag.query", "ChatCompletion"]
    assert out.rejections == [
        Rejection(
            "resource_spans[0].scope_spans[0].spans[1].end_time_unix_nano", "ends before it starts"
        )
    ]
    assert {s.project for s in out.spans} == {"rag-app"}
    assert {s.environment for s in out.spans} == {"prod"}
    assert out.spans[0].resource_attributes["service.name"] == "rag-app"
