"""Build OTLP ExportTraceServiceRequest payloads (protobuf and JSON) for tests."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

BASE_NS = 1_763_900_000_000_000_000  # 2025-11-23T12:13:20Z


def new_trace_id() -> bytes:
    """16 random bytes."""
    return os.urandom(16)


def new_span_id() -> bytes:
    """8 random bytes."""
    return os.urandom(8)


def kv(key: str, value: Any) -> KeyValue:
    """One OTLP attribute."""
    if isinstance(value, bool):
        v = AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = AnyValue(int_value=value)
    elif isinstance(value, float):
        v = AnyValue(double_value=value)
    elif isinstance(value, list):
        v = AnyValue()
        v.array_value.values.extend(AnyValue(string_value=str(x)) for x in value)
    else:
        v = AnyValue(string_value=str(value))
    return KeyValue(key=key, value=v)


def make_span(
    name: str = "llm",
    *,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    parent: bytes = b"",
    start_ns: int = BASE_NS,
    duration_ns: int = 250_000_000,
    attrs: dict[str, Any] | None = None,
    error: bool = False,
) -> Span:
    """A protobuf span with OpenInference-style attributes."""
    span = Span(
        trace_id=trace_id or new_trace_id(),
        span_id=span_id or new_span_id(),
        parent_span_id=parent,
        name=name,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + duration_ns,
    )
    span.attributes.extend(kv(k, v) for k, v in (attrs or {}).items())
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
    return span


def make_request(spans: list[Span], project: str | None = None) -> ExportTraceServiceRequest:
    """Wrap spans in one resource (with the project as openinference.project.name)."""
    rs = ResourceSpans()
    if project:
        rs.resource.attributes.append(kv("openinference.project.name", project))
    rs.resource.attributes.append(kv("service.name", "tests"))
    rs.scope_spans.append(ScopeSpans(spans=spans))
    return ExportTraceServiceRequest(resource_spans=[rs])


def post_spans(base_url: str, spans: list[Span], project: str) -> None:
    """Send spans to a server's OTLP/HTTP endpoint as protobuf; it must take them (200)."""
    r = httpx.post(
        f"{base_url}/v1/traces",
        content=make_request(spans, project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200, r.text


def json_span(
    name: str,
    trace_hex: str,
    span_hex: str,
    *,
    parent_hex: str = "",
    start_ns: int = BASE_NS,
    duration_ns: int = 100_000_000,
    attrs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A span in the OTLP/JSON mapping (hex ids, int64 as strings)."""
    return {
        "traceId": trace_hex,
        "spanId": span_hex,
        "parentSpanId": parent_hex,
        "name": name,
        "kind": "SPAN_KIND_INTERNAL",
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + duration_ns),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in (attrs or {}).items()],
    }


def json_request(spans: list[dict[str, Any]], project: str) -> bytes:
    """An OTLP/JSON body with one resource."""
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "openinference.project.name", "value": {"stringValue": project}}
                    ]
                },
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
            }
        ]
    }
    return json.dumps(body).encode()
