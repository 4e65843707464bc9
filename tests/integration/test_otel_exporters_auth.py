"""The real OTel exporters (HTTP and gRPC) send API keys from OTEL_EXPORTER_OTLP_HEADERS."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from support.keys import create_keys
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration
HEADERS_ENV = "OTEL_EXPORTER_OTLP_HEADERS"
MakeExporter = Callable[[ServerProcess], SpanExporter]


@pytest.fixture(scope="module")
def keyed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("otel-keys") / "data"
    tokens = create_keys(
        data_dir,
        {"ingest": ("ingest", None), "read": ("read", None), "shop": ("ingest", "shop")},
    )
    server = ServerProcess(data_dir, free_port(), free_port()).start()
    try:
        yield server, tokens
    finally:
        server.stop()


def _spans(project: str) -> tuple[ReadableSpan, ...]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("llm-call") as s:
        s.set_attribute("openinference.span.kind", "LLM")
    provider.shutdown()
    return memory.get_finished_spans()


def _stored(server: ServerProcess, token: str, project: str) -> int:
    r = httpx.get(
        f"{server.url}/api/v1/projects/{project}/spans",
        headers={"authorization": f"Bearer {token}"},
    )
    return len(r.json()["data"]) if r.status_code == 200 else 0


def _export(exporter: SpanExporter, project: str) -> SpanExportResult:
    try:
        return exporter.export(_spans(project))
    finally:
        exporter.shutdown()


def _http(server: ServerProcess) -> SpanExporter:
    return HttpExporter(endpoint=f"{server.url}/v1/traces", timeout=10)


def _grpc(server: ServerProcess) -> SpanExporter:
    return GrpcExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True, timeout=10)


@pytest.mark.parametrize("make", [_http, _grpc], ids=["http", "grpc"])
def test_exporter_with_the_otel_headers_variable_is_accepted(
    keyed: tuple[ServerProcess, dict[str, str]], make: MakeExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, tokens = keyed
    project = f"otel-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(HEADERS_ENV, f"authorization=Bearer {tokens['ingest']}")
    assert _export(make(server), project) == SpanExportResult.SUCCESS
    assert _stored(server, tokens["read"], project) == 1


@pytest.mark.parametrize("make", [_http, _grpc], ids=["http", "grpc"])
@pytest.mark.parametrize("header", [None, "authorization=Bearer lp_000000000000_" + "z" * 43])
def test_exporter_without_a_valid_key_is_refused_and_nothing_is_stored(
    keyed: tuple[ServerProcess, dict[str, str]],
    make: MakeExporter,
    header: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, tokens = keyed
    project = f"otel-{uuid.uuid4().hex[:8]}"
    if header is None:
        monkeypatch.delenv(HEADERS_ENV, raising=False)
    else:
        monkeypatch.setenv(HEADERS_ENV, header)
    assert _export(make(server), project) == SpanExportResult.FAILURE
    assert _stored(server, tokens["read"], project) == 0


@pytest.mark.parametrize("make", [_http, _grpc], ids=["http", "grpc"])
def test_read_key_cannot_ingest_and_project_key_cannot_write_elsewhere(
    keyed: tuple[ServerProcess, dict[str, str]], make: MakeExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, tokens = keyed
    project = f"otel-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(HEADERS_ENV, f"authorization=Bearer {tokens['read']}")
    assert _export(make(server), project) == SpanExportResult.FAILURE
    monkeypatch.setenv(HEADERS_ENV, f"authorization=Bearer {tokens['shop']}")
    assert _export(make(server), project) == SpanExportResult.FAILURE
    assert _stored(server, tokens["read"], project) == 0
    before = _stored(server, tokens["read"], "shop")
    assert _export(make(server), "shop") == SpanExportResult.SUCCESS
    assert _stored(server, tokens["read"], "shop") == before + 1
