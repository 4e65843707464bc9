"""The real OpenTelemetry OTLP exporters (HTTP and gRPC) against a real server."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode

from support.server import ServerProcess

pytestmark = pytest.mark.integration

OPENINFERENCE = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-mini",
    "llm.provider": "openai",
    "llm.token_count.prompt": 120,
    "llm.token_count.completion": 30,
    "llm.token_count.total": 150,
    "llm.input_messages.0.message.role": "user",
    "llm.input_messages.0.message.content": "What is the capital of France?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "Paris.",
    "session.id": "sess-1",
    "user.id": "user-1",
    "metadata": json.dumps({"tier": "pro", "region": "eu-west"}),
    "tag.tags": ["rag", "beta"],
}

GENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 120,
    "gen_ai.usage.output_tokens": 30,
    "gen_ai.prompt.0.role": "user",
    "gen_ai.prompt.0.content": "What is the capital of France?",
    "gen_ai.completion.0.role": "assistant",
    "gen_ai.completion.0.content": "Paris.",
    "session.id": "sess-1",
    "user.id": "user-1",
}

SAME_COLUMNS = (
    "kind",
    "model",
    "provider",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "input_messages",
    "output_messages",
    "session_id",
    "user_id",
)


def _emit(exporter: SpanExporter, project: str) -> None:
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("chain") as root:
        root.set_attribute("openinference.span.kind", "CHAIN")
        root.set_attribute("input.value", "What is the capital of France?")
        with tracer.start_as_current_span("openinference-llm") as s:
            for k, v in OPENINFERENCE.items():
                s.set_attribute(k, v)
        with tracer.start_as_current_span("genai-llm") as s:
            for k, v in GENAI.items():
                s.set_attribute(k, v)
        with tracer.start_as_current_span("failing-tool") as s:
            s.set_attribute("openinference.span.kind", "TOOL")
            try:
                raise ValueError("tool exploded")
            except ValueError as exc:
                s.record_exception(exc)
                s.set_status(Status(StatusCode.ERROR, "tool exploded"))
    provider.shutdown()


def _spans_by_name(url: str, project: str, expected: int) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        r = httpx.get(f"{url}/api/v1/projects/{project}/spans", params={"limit": 100})
        if r.status_code == 200 and len(r.json()["data"]) >= expected:
            return {s["name"]: s for s in r.json()["data"]}
        assert time.monotonic() < deadline, r.text
        time.sleep(0.1)


def _check(url: str, project: str) -> None:
    spans = _spans_by_name(url, project, 4)
    oi, ga = spans["openinference-llm"], spans["genai-llm"]
    for col in SAME_COLUMNS:
        assert oi[col] == ga[col], col
    assert oi["kind"] == "LLM"
    assert oi["model"] == "gpt-4o-mini"
    assert oi["total_tokens"] == 150
    assert oi["input_messages"][0]["content"] == "What is the capital of France?"
    assert oi["metadata"] == {"tier": "pro", "region": "eu-west"}
    assert oi["tags"] == ["rag", "beta"]
    tool = spans["failing-tool"]
    assert tool["status_code"] == "ERROR"
    assert tool["exception_type"] == "ValueError"
    assert tool["exception_message"] == "tool exploded"
    root = spans["chain"]
    assert root["parent_span_id"] is None
    assert oi["parent_span_id"] == root["span_id"]
    trace = httpx.get(f"{url}/api/v1/traces/{root['trace_id']}").json()
    assert trace["num_spans"] == 4
    assert [c["span"]["name"] for c in trace["roots"][0]["children"]] == [
        "openinference-llm",
        "genai-llm",
        "failing-tool",
    ]


def test_http_exporter_spans_land_in_typed_columns_for_both_conventions(
    live_server: ServerProcess,
) -> None:
    project = f"http-{uuid.uuid4().hex[:8]}"
    _emit(HttpExporter(endpoint=f"{live_server.url}/v1/traces"), project)
    _check(live_server.url, project)


def test_grpc_exporter_spans_land_in_typed_columns_for_both_conventions(
    live_server: ServerProcess,
) -> None:
    project = f"grpc-{uuid.uuid4().hex[:8]}"
    exporter = GrpcExporter(endpoint=f"127.0.0.1:{live_server.grpc_port}", insecure=True)
    _emit(exporter, project)
    _check(live_server.url, project)


def test_project_falls_back_to_header_then_service_name(live_server: ServerProcess) -> None:
    name = f"hdr-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"service.name": f"svc-{name}"}))
    provider.add_span_processor(
        SimpleSpanProcessor(
            HttpExporter(endpoint=f"{live_server.url}/v1/traces", headers={"x-project-name": name})
        )
    )
    with provider.get_tracer("t").start_as_current_span("x"):
        pass
    provider.shutdown()
    projects = {p["name"] for p in httpx.get(f"{live_server.url}/api/v1/projects").json()["data"]}
    assert name in projects
    assert f"svc-{name}" not in projects
