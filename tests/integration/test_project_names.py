"""Project names ``.``, ``..`` or with ``/`` are refused everywhere a project is named.

Issue 9, item 14: such projects were accepted at ingest but unreachable through the API and the
UI. OTLP rejects the spans of that resource (naming the attribute) and keeps the others; the
REST routes that name a project answer 400 naming the field; the SDK refuses before sending.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from llmpulse.sdk.client import Client
from support.otlp import json_request, json_span, make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
BAD = [".", "..", "a/b"]


@pytest.mark.parametrize("bad", BAD)
def test_otlp_rejects_the_spans_of_a_bad_project_and_keeps_the_others(
    live_server: ServerProcess, bad: str
) -> None:
    good = f"names-{uuid.uuid4().hex[:8]}"
    request = make_request([make_span("bad1"), make_span("bad2")], bad)
    ok = make_request([make_span("good")], good).resource_spans[0]
    request.resource_spans.append(ResourceSpans.FromString(ok.SerializeToString()))
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200
    partial = ExportTraceServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_spans == 2
    assert (
        "resource_spans[0].resource.attributes[openinference.project.name]" in partial.error_message
    )
    spans = httpx.get(f"{live_server.url}/api/v1/projects/{good}/spans").json()["data"]
    assert [s["name"] for s in spans] == ["good"]
    names = {p["name"] for p in httpx.get(f"{live_server.url}/api/v1/projects").json()["data"]}
    assert bad not in names


def test_otlp_json_and_header_project_are_checked_too(live_server: ServerProcess) -> None:
    body = json_request([json_span("s", uuid.uuid4().hex, "1" * 16)], "..")
    r = httpx.post(
        f"{live_server.url}/v1/traces", content=body, headers={"content-type": "application/json"}
    )
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
    plain = make_request([make_span("s")])  # no project attribute: the header names it
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=plain.SerializeToString(),
        headers={"content-type": "application/x-protobuf", "x-project-name": "x/y"},
    )
    partial = ExportTraceServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_spans == 1
    assert "x-project-name" in partial.error_message


def test_rest_routes_that_name_a_project_answer_400(live_server: ServerProcess) -> None:
    r = httpx.post(f"{live_server.url}/api/v1/projects/%2E%2E/predictions", json={"records": []})
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "path.project"
    r = httpx.put(
        f"{live_server.url}/api/v1/projects/%2E/cohorts/c", json={"expression": "kind = LLM"}
    )
    assert r.status_code == 400
    r = httpx.post(
        f"{live_server.url}/api/v1/annotations",
        json={"data": [{"prediction_id": "p", "project": "a/b", "name": "n", "score": 1}]},
    )
    assert r.status_code == 200
    assert [x["path"] for x in r.json()["rejected"]] == ["data[0].project"]


def test_sdk_refuses_a_bad_project_before_sending(live_server: ServerProcess) -> None:
    with Client(live_server.url) as client, pytest.raises(ValueError, match="project name"):
        client.log_records([{"prediction_id": "p"}], project="..")
