"""Fault: one span with metadata nested past what can be stored, in a 300-span request.

Issue 9, item 1. Over OTLP/HTTP protobuf and JSON and OTLP/gRPC, the answer is 200 with
``partial_success`` naming the bad span and field, and the 299 neighbours are stored
(acknowledged ⊆ stored, no duplicates).
"""

from __future__ import annotations

import json
import uuid

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from support.faults import stored_ids
from support.otlp import json_request, json_span, make_request, make_span
from support.server import ServerProcess
from support.wire import deep_any_value, request_of_span_bytes, span_with_attribute

pytestmark = pytest.mark.integration
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
BAD_INDEX = 150


def nested_json(depth: int) -> str:
    text = "1"
    for _ in range(depth):
        text = '{"a":' + text + "}"
    return text


def pb_body(project: str) -> tuple[bytes, set[str]]:
    spans = [make_span(f"s{i}") for i in range(300)]
    spans[BAD_INDEX].attributes.add(key="metadata").value.string_value = nested_json(400)
    good = {s.span_id.hex() for i, s in enumerate(spans) if i != BAD_INDEX}
    return make_request(spans, project).SerializeToString(), good


def test_protobuf_span_with_deep_metadata_is_a_partial_success(live_server: ServerProcess) -> None:
    project = f"nested-{uuid.uuid4().hex[:8]}"
    body, good = pb_body(project)
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200, r.text
    answer = ExportTraceServiceResponse.FromString(r.content)
    assert answer.partial_success.rejected_spans == 1
    assert f"spans[{BAD_INDEX}].metadata" in answer.partial_success.error_message
    ids = stored_ids(live_server, project)
    assert sorted(ids) == sorted(good)


def test_json_span_with_deep_metadata_is_a_partial_success(live_server: ServerProcess) -> None:
    project = f"nested-json-{uuid.uuid4().hex[:8]}"
    trace = uuid.uuid4().hex
    spans = [json_span(f"s{i}", trace, f"{i + 1:016x}") for i in range(300)]
    spans[BAD_INDEX]["attributes"].append(
        {"key": "metadata", "value": {"stringValue": nested_json(400)}}
    )
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=json_request(spans, project),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert f"spans[{BAD_INDEX}].metadata" in partial["errorMessage"]
    assert len(set(stored_ids(live_server, project))) == 299
    assert json.dumps(partial)  # the answer itself is valid JSON


def test_grpc_span_nested_past_upb_limit_is_a_partial_success(live_server: ServerProcess) -> None:
    project = f"nested-grpc-{uuid.uuid4().hex[:8]}"
    spans = [make_span(f"s{i}") for i in range(300)]
    encoded = [s.SerializeToString() for s in spans]
    encoded[BAD_INDEX] = span_with_attribute(spans[BAD_INDEX], "deep", deep_any_value(80))
    body = request_of_span_bytes(encoded, project)
    with grpc.insecure_channel(f"127.0.0.1:{live_server.grpc_port}") as channel:
        call = channel.unary_unary(
            EXPORT,
            request_serializer=None,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        answer: ExportTraceServiceResponse = call(body, timeout=30)
    assert answer.partial_success.rejected_spans == 1
    assert f"spans[{BAD_INDEX}]" in answer.partial_success.error_message
    good = {s.span_id.hex() for i, s in enumerate(spans) if i != BAD_INDEX}
    assert sorted(stored_ids(live_server, project)) == sorted(good)
