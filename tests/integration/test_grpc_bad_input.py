"""OTLP/gRPC bad input: the same decode as OTLP/HTTP, so the same answers (issue #2, point 6)."""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def export(server: ServerProcess, body: bytes) -> ExportTraceServiceResponse:
    """Call Export with a raw body, as an exporter would send a serialized request."""
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        call = channel.unary_unary(
            EXPORT,
            request_serializer=None,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        response: ExportTraceServiceResponse = call(body, timeout=30)
        return response


def count(server: ServerProcess, project: str) -> int:
    r = httpx.get(f"{server.url}/api/v1/projects/{project}/spans", params={"limit": 100})
    return len(r.json()["data"]) if r.status_code == 200 else 0


def test_grpc_malformed_body_is_invalid_argument_and_the_server_keeps_serving(
    live_server: ServerProcess,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        export(live_server, b"\x0a\xff\xff\xff")  # a length past the end of the body
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed protobuf" in (caught.value.details() or "")
    project = f"grpc-bad-{uuid.uuid4().hex[:8]}"
    export(live_server, make_request([make_span("ok")], project).SerializeToString())
    assert count(live_server, project) == 1


def test_grpc_bad_span_is_reported_in_partial_success_and_its_neighbour_stored(
    live_server: ServerProcess,
) -> None:
    project = f"grpc-partial-{uuid.uuid4().hex[:8]}"
    bad = make_span("bad", span_id=bytes(8))  # an all-zero span id
    good = make_span("good")
    response = export(live_server, make_request([good, bad], project).SerializeToString())
    assert response.partial_success.rejected_spans == 1
    assert "spans[1].span_id" in response.partial_success.error_message
    assert count(live_server, project) == 1
