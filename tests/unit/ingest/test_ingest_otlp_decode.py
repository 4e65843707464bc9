"""decode_request: content types, gzip, size limits, protobuf and OTLP/JSON bodies."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from ingest_payloads import rag_trace, request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmpulse.domain.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from llmpulse.domain.spans import Message, Rejection, RetrievedDocument, SpanKind, StatusCode
from llmpulse.ingest.otlp import Normalized, decode_request, decode_request_rows
from llmpulse.store.events.codec import rows_to_arrow, span_from_row, spans_to_arrow

DATA = Path(__file__).parents[2] / "data"
PB = "application/x-protobuf"
LIMIT = 1_000_000


def decode(
    body: bytes,
    content_type: str | None = PB,
    encoding: str | None = None,
    *,
    limit: int = LIMIT,
    header_project: str | None = None,
) -> Normalized:
    return decode_request(
        body, content_type, encoding, max_body_bytes=limit, header_project=header_project
    )


def rag_body() -> bytes:
    body: bytes = request(rag_trace(), {"service.name": "rag-app"}).SerializeToString()
    return body


def to_otlp_json(body: bytes) -> dict[str, Any]:
    """Protobuf request → OTLP/JSON (proto3 JSON with hex ids, as the spec requires)."""
    doc: dict[str, Any] = MessageToDict(ExportTraceServiceRequest.FromString(body))
    for resource_spans in doc["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for item in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in item:
                        item[key] = base64.b64decode(item[key]).hex()
    return doc


@pytest.mark.parametrize(
    "content_type", [PB, "application/protobuf", "Application/X-Protobuf; foo=1"]
)
def test_decode_request_reads_protobuf_round_trip(content_type: str) -> None:
    out = decode(rag_body(), content_type)
    assert out.rejections == []
    assert [(s.name, s.kind) for s in out.spans] == [
        ("rag.query", SpanKind.CHAIN),
        ("retrieve", SpanKind.RETRIEVER),
        ("ChatCompletion", SpanKind.LLM),
    ]
    llm = out.spans[2]
    assert (llm.model, llm.provider, llm.prompt_tokens, llm.total_tokens) == (
        "gpt-4o-mini",
        "openai",
        512,
        576,
    )
    assert [m.role for m in llm.input_messages] == ["system", "user"]
    assert len(out.spans[1].documents) == 4
    assert {s.project for s in out.spans} == {"rag-app"}


def test_decode_request_gives_identical_spans_for_protobuf_and_json_encodings() -> None:
    body = rag_body()
    as_json = json.dumps(to_otlp_json(body)).encode()
    from_json = decode(as_json, "application/json; charset=utf-8")
    assert from_json.rejections == []
    assert from_json.spans == decode(body).spans


def test_decode_request_reads_hand_written_otlp_json() -> None:
    out = decode((DATA / "otlp_rag_trace.json").read_bytes(), "application/json")
    assert out.rejections == []
    root, retriever, llm = out.spans
    assert root.project == "rag-json"
    assert (root.kind, root.status_code, root.environment, root.version) == (
        SpanKind.CHAIN,
        StatusCode.OK,
        "staging",
        "1.4.2",
    )
    assert (root.session_id, root.user_id, root.http_status) == ("session-7", "user-42", 200)
    assert root.metadata == {"tier": "gold", "region": "eu-west"}
    assert root.tags == ("warranty", "support")
    assert root.attributes["app.flags"] == {"beta": True, "ratio": 0.25, "retries": 2}
    assert root.attributes["app.blob"] == base64.b64encode(b"hello").decode()
    assert root.attributes["app.empty"] is None
    assert retriever.parent_span_id == root.span_id == "eee19b7ec3c1b174"
    assert retriever.documents == (
        RetrievedDocument("doc-1", "The warranty covers parts and labour.", 0.91, {"source": "kb"}),
        RetrievedDocument("2", "Two years from delivery.", 0.5, None),
    )
    assert llm.input_messages[1] == Message("user", "What does the warranty cover?")
    assert (llm.prompt_tokens, llm.completion_tokens, llm.total_tokens) == (120, 12, 132)
    assert llm.cost_usd == pytest.approx(0.00042)
    assert (llm.status_code, llm.status_message, llm.exception_type) == (
        StatusCode.ERROR,
        "slow down",
        "RateLimitError",
    )


def test_decode_request_rejects_bad_json_spans_by_path_and_keeps_neighbours() -> None:
    out = decode((DATA / "otlp_bad_spans.json").read_bytes(), "application/json")
    assert [s.name for s in out.spans] == ["good-0", "good-5"]
    prefix = "resource_spans[0].scope_spans[0].spans"
    assert [r.path for r in out.rejections] == [
        f"{prefix}[1].trace_id",
        f"{prefix}[2].start_time_unix_nano",
        f"{prefix}[3].end_time_unix_nano",
        f"{prefix}[4].attributes[1].value.intValue",
    ]
    assert "hex" in out.rejections[0].reason
    assert "yesterday" in out.rejections[1].reason
    assert out.rejections[2].reason == "ends before it starts"


def test_decode_request_rejects_malformed_resource_and_scope_but_keeps_other_resources() -> None:
    good = to_otlp_json(rag_body())["resourceSpans"][0]
    doc = {
        "resourceSpans": [
            "oops",
            {"resource": {"attributes": 5}},
            {"scopeSpans": [{"spans": 3}]},
            good,
        ]
    }
    out = decode(json.dumps(doc).encode(), "application/json")
    assert len(out.spans) == 3
    assert out.rejections == [
        Rejection("resource_spans[0]", "must be an object, got str"),
        Rejection("resource_spans[1].resource.attributes", "must be a list, got int"),
        Rejection("resource_spans[2].scope_spans[0].spans", "must be a list, got int"),
    ]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "resourceSpans"),
        (b'{"resource_spans": {}}', "resourceSpans"),
        (b"{}", "resourceSpans"),
    ],
)
def test_decode_request_raises_invalid_input_for_bad_json_envelope(
    body: bytes, detail: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        decode(body, "application/json")
    assert info.value.status == 400
    assert detail in info.value.detail


def test_decode_request_raises_invalid_input_for_malformed_protobuf() -> None:
    with pytest.raises(InvalidInput) as info:
        decode(b"\x0a\xff\xff\xff\xff\x0f garbage")
    assert info.value.status == 400
    assert "malformed protobuf" in info.value.detail


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "", None])
def test_decode_request_raises_415_naming_the_type_and_the_accepted_ones(
    content_type: str | None,
) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        decode(rag_body(), content_type)
    assert info.value.status == 415
    assert PB in info.value.detail
    assert "application/json" in info.value.detail
    if content_type:
        assert content_type in info.value.detail


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip"])
def test_decode_request_inflates_gzip_bodies(encoding: str) -> None:
    body = rag_body()
    assert (
        decode(gzip.compress(body), encoding=encoding).spans
        == decode(body, encoding="identity").spans
    )


def test_decode_request_inflates_multi_member_gzip() -> None:
    doc = json.dumps(to_otlp_json(rag_body())).encode()
    body = gzip.compress(doc[:100]) + gzip.compress(doc[100:])
    assert len(decode(body, "application/json", "gzip").spans) == 3


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"definitely not gzip", "malformed gzip"),
        (gzip.compress(b"x" * 1000, mtime=0)[:-12], "truncated"),
    ],
)
def test_decode_request_raises_invalid_input_for_corrupt_gzip(body: bytes, detail: str) -> None:
    with pytest.raises(InvalidInput) as info:
        decode(body, encoding="gzip")
    assert info.value.status == 400
    assert detail in info.value.detail


def test_decode_request_raises_invalid_input_for_unknown_encoding() -> None:
    with pytest.raises(InvalidInput) as info:
        decode(rag_body(), encoding="br")
    assert info.value.status == 400
    assert "'br'" in info.value.detail


def test_decode_request_raises_413_for_body_over_limit() -> None:
    body = rag_body()
    with pytest.raises(PayloadTooLarge) as info:
        decode(body, limit=len(body) - 1)
    assert info.value.status == 413
    assert len(decode(body, limit=len(body)).spans) == 3


def test_decode_request_stops_a_gzip_bomb_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 30_000_000, compresslevel=9)  # ~30 kB inflating to 30 MB
    assert len(bomb) < LIMIT
    with pytest.raises(PayloadTooLarge) as info:
        decode(bomb, encoding="gzip")
    assert info.value.status == 413
    assert "decompressed" in info.value.detail


def test_decode_request_accepts_gzip_that_inflates_to_exactly_the_limit() -> None:
    body = rag_body()
    assert len(decode(gzip.compress(body), encoding="gzip", limit=len(body)).spans) == 3
    with pytest.raises(PayloadTooLarge):
        decode(gzip.compress(body), encoding="gzip", limit=len(body) - 1)


def test_decode_request_uses_header_project_when_resource_names_none() -> None:
    body = request(rag_trace(), {"service.name": "svc"}).SerializeToString()
    assert {s.project for s in decode(body, header_project="from-header").spans} == {"from-header"}
    named = request(rag_trace(), {"openinference.project.name": "named"}).SerializeToString()
    assert {s.project for s in decode(named, header_project="from-header").spans} == {"named"}


def test_decode_request_accepts_empty_protobuf_body_as_empty_request() -> None:
    assert decode(b"") == Normalized(spans=[], rejections=[])


@pytest.mark.parametrize("content_type", [PB, "application/json"])
def test_decode_rows_give_the_same_arrow_table_as_the_decoded_spans(content_type: str) -> None:
    body = rag_body()
    if content_type != PB:
        body = json.dumps(to_otlp_json(body)).encode()
    spans = decode(body, content_type).spans
    batch = decode_request_rows(body, content_type, None, max_body_bytes=LIMIT, header_project=None)
    assert len(batch.rows) == len(spans) == 3
    assert rows_to_arrow(batch.rows).equals(spans_to_arrow(spans))
    assert [span_from_row(r) for r in batch.rows] == spans
