"""Every bad-input class of POST /v1/traces, each followed by proof the server still serves
and that good neighbours were stored."""

from __future__ import annotations

import gzip
import uuid

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from support.otlp import json_request, json_span, make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
PB = {"content-type": "application/x-protobuf"}


def _project() -> str:
    return f"bad-{uuid.uuid4().hex[:8]}"


def _span_ids(server: ServerProcess, project: str) -> set[str]:
    r = httpx.get(f"{server.url}/api/v1/projects/{project}/spans", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return {s["span_id"] for s in r.json()["data"]}


def _store_good(server: ServerProcess, project: str) -> str:
    span = make_span("good")
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=make_request([span], project).SerializeToString(),
        headers=PB,
    )
    assert r.status_code == 200, r.text
    return span.span_id.hex()


def _assert_still_serving(server: ServerProcess) -> None:
    project = _project()
    good = _store_good(server, project)
    assert good in _span_ids(server, project)
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_otlp_rejects_malformed_protobuf_with_400_naming_the_problem(
    live_server: ServerProcess,
) -> None:
    r = httpx.post(f"{live_server.url}/v1/traces", content=b"\xff\xff\xff garbage", headers=PB)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/x-protobuf")
    _assert_still_serving(live_server)


def test_otlp_rejects_malformed_json_with_400_naming_the_problem(
    live_server: ServerProcess,
) -> None:
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=b'{"resourceSpans": [',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == 400
    assert "json" in body["detail"].lower()
    _assert_still_serving(live_server)


def test_otlp_rejects_unknown_content_type_with_415(live_server: ServerProcess) -> None:
    r = httpx.post(
        f"{live_server.url}/v1/traces", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415
    assert "text/plain" in r.json()["detail"]
    _assert_still_serving(live_server)


def test_otlp_rejects_body_over_limit_with_413(fresh_server: ServerProcess) -> None:
    # The limit applies after decompression too: a small gzip body that inflates past it.
    fresh_server.stop()
    limited = ServerProcess(
        fresh_server.data_dir, fresh_server.port, 0, ["--max-body-bytes", "100000"]
    ).start()
    try:
        big = httpx.post(f"{limited.url}/v1/traces", content=b"\0" * 200_000, headers=PB)
        assert big.status_code == 413
        bomb = gzip.compress(b"\0" * 5_000_000)
        r = httpx.post(
            f"{limited.url}/v1/traces",
            content=bomb,
            headers={**PB, "content-encoding": "gzip"},
        )
        assert r.status_code == 413
        _assert_still_serving(limited)
    finally:
        limited.stop()


def test_otlp_keeps_good_spans_when_one_span_has_a_bad_trace_id(
    live_server: ServerProcess,
) -> None:
    project = _project()
    good = make_span("good")
    bad = make_span("bad", trace_id=b"\x01\x02")
    after = make_span("after")
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=make_request([good, bad, after], project).SerializeToString(),
        headers=PB,
    )
    assert r.status_code == 200
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 1
    assert "spans[1].trace_id" in resp.partial_success.error_message
    assert _span_ids(live_server, project) == {good.span_id.hex(), after.span_id.hex()}


def test_otlp_keeps_good_spans_when_one_span_ends_before_it_starts(
    live_server: ServerProcess,
) -> None:
    project = _project()
    good = make_span("good")
    bad = make_span("bad", duration_ns=-1_000_000)
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=make_request([bad, good], project).SerializeToString(),
        headers=PB,
    )
    assert r.status_code == 200
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 1
    assert "spans[0]" in resp.partial_success.error_message
    assert _span_ids(live_server, project) == {good.span_id.hex()}


def test_otlp_json_keeps_good_spans_when_one_has_bad_hex_id_or_timestamp(
    live_server: ServerProcess,
) -> None:
    project = _project()
    trace = uuid.uuid4().hex
    good = json_span("good", trace, "00000000000000a1")
    bad_id = json_span("bad-id", trace, "zz-not-hex")
    bad_ts = json_span("bad-ts", trace, "00000000000000a3")
    bad_ts["startTimeUnixNano"] = "yesterday"
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=json_request([good, bad_id, bad_ts], project),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] in ("2", 2)
    assert "spans[1]" in partial["errorMessage"]
    assert _span_ids(live_server, project) == {"00000000000000a1"}


def test_rest_rejects_bad_filters_with_400_problem(live_server: ServerProcess) -> None:
    project = _project()
    _store_good(live_server, project)
    base = f"{live_server.url}/api/v1/projects/{project}/spans"
    for params in ({"kind": "NOPE"}, {"limit": "0"}, {"attr": "novalue"}, {"start": "x"}):
        r = httpx.get(base, params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"], params
    assert httpx.get(f"{live_server.url}/api/v1/projects/nope-{project}/spans").status_code == 404
    assert httpx.get(f"{live_server.url}/api/v1/traces/{'0' * 32}").status_code == 404
