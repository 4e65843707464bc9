"""One span that cannot be stored is a rejection naming its path; its neighbours are kept.

Issue 9, item 1: deep metadata, token counts past int64, attributes nested past upb's depth
limit and strings that are not UTF-8 each used to fail the whole request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.spans import Rejection
from llmpulse.ingest import native
from llmpulse.ingest.decode_pool import DecodedBatch, decode_body
from llmpulse.ingest.enrich import CostEnricher
from llmpulse.ingest.isolate import split_storable
from llmpulse.ingest.pricing import PriceBook
from llmpulse.store.events.codec import rows_to_arrow
from support.otlp import json_request, json_span, make_request, make_span
from support.wire import deep_any_value, field, request_of_span_bytes, span_with_attribute, varint

PB = "application/x-protobuf"
JSON = "application/json"


@pytest.fixture(params=["native", "python"])
def decoder(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both decoders: the C extension where built, and the Python mapping alone."""
    if request.param == "python":
        with native.python_only():
            yield request.param
    else:
        yield request.param


def nested_json(depth: int) -> str:
    text = "1"
    for _ in range(depth):
        text = '{"a":' + text + "}"
    return text


def decode(body: bytes, content_type: str = PB) -> DecodedBatch:
    enricher = CostEnricher(PriceBook([]))
    return decode_body(body, content_type, None, 50_000_000, None, enricher)


def names(batch: DecodedBatch) -> list[str]:
    assert batch.table is not None
    names: list[str] = batch.table.column("name").to_pylist()
    return names


def pb_with_bad(attrs: dict[str, Any]) -> bytes:
    spans = [make_span("g0"), make_span("bad", attrs=attrs), make_span("g2")]
    body: bytes = make_request(spans, "iso").SerializeToString()
    return body


@pytest.mark.usefixtures("decoder")
def test_metadata_nested_past_the_json_encoder_limit_rejects_only_that_span() -> None:
    batch = decode(pb_with_bad({"metadata": nested_json(300)}))
    assert names(batch) == ["g0", "g2"]
    assert [r.path for r in batch.rejections] == [
        "resource_spans[0].scope_spans[0].spans[1].metadata"
    ]
    assert batch.num_spans == 2


@pytest.mark.usefixtures("decoder")
def test_metadata_nested_within_the_limit_is_stored() -> None:
    batch = decode(pb_with_bad({"metadata": nested_json(200)}))
    assert names(batch) == ["g0", "bad", "g2"]
    assert batch.rejections == []


@pytest.mark.usefixtures("decoder")
@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("llm.token_count.prompt", "99999999999999999999", "prompt_tokens"),
        ("llm.token_count.completion", 1e30, "completion_tokens"),
        ("llm.token_count.total", str(2**63), "total_tokens"),
    ],
)
def test_token_count_past_int64_rejects_only_that_span(key: str, value: object, field: str) -> None:
    batch = decode(pb_with_bad({key: value, "llm.model_name": "gpt-4o"}))
    assert names(batch) == ["g0", "g2"]
    (rejection,) = batch.rejections
    assert rejection.path == f"resource_spans[0].scope_spans[0].spans[1].{field}"
    assert field in rejection.reason


@pytest.mark.usefixtures("decoder")
def test_largest_int64_token_count_is_stored() -> None:
    batch = decode(pb_with_bad({"llm.token_count.prompt": 2**63 - 1}))
    assert names(batch) == ["g0", "bad", "g2"]


def test_json_span_with_int_past_int64_and_deep_metadata_are_rejected_by_index() -> None:
    big = json_span("big", "11" * 16, "22" * 8)
    big["attributes"].append(
        {"key": "llm.token_count.prompt", "value": {"intValue": "99999999999999999999"}}
    )
    good = json_span("good", "11" * 16, "23" * 8)
    deep = json_span("deep", "11" * 16, "24" * 8, attrs={"metadata": nested_json(300)})
    attr_big = json_span("attr-big", "11" * 16, "25" * 8)
    attr_big["attributes"].append({"key": "n", "value": {"intValue": str(2**70)}})
    status = json_span("status", "11" * 16, "26" * 8)
    status["attributes"].append({"key": "http.status_code", "value": {"intValue": str(2**64)}})
    batch = decode(json_request([big, good, deep, attr_big, status], "iso"), JSON)
    assert names(batch) == ["good"]
    assert [r.path for r in batch.rejections] == [
        "resource_spans[0].scope_spans[0].spans[0].prompt_tokens",
        "resource_spans[0].scope_spans[0].spans[2].metadata",
        "resource_spans[0].scope_spans[0].spans[3].attributes",
        "resource_spans[0].scope_spans[0].spans[4].http_status",
    ]


@pytest.mark.usefixtures("decoder")
def test_attribute_nested_past_upb_depth_limit_rejects_only_that_span() -> None:
    bad = span_with_attribute(make_span("bad"), "deep", deep_any_value(60))
    body = request_of_span_bytes(
        [make_span("g0").SerializeToString(), bad, make_span("g2").SerializeToString()], "iso"
    )
    batch = decode(body)
    assert names(batch) == ["g0", "g2"]
    (rejection,) = batch.rejections
    assert rejection.path == "resource_spans[0].scope_spans[0].spans[1]"
    assert "MaxDepth" in rejection.reason


@pytest.mark.usefixtures("decoder")
def test_string_that_is_not_utf8_rejects_only_that_span() -> None:
    body = pb_with_bad({"k": "MARKER"}).replace(b"MARKER", b"MA\xff\xfeER")
    batch = decode(body)
    assert names(batch) == ["g0", "g2"]
    (rejection,) = batch.rejections
    assert rejection.path == "resource_spans[0].scope_spans[0].spans[1]"
    assert "UTF-8" in rejection.reason


def test_broken_framing_inside_a_scope_is_a_400_naming_the_first_bad_item() -> None:
    good = make_span("g0").SerializeToString()
    body = request_of_span_bytes([good, good], "iso")
    assert decode(body).num_spans == 2
    # The second span's length runs past its scope; every enclosing length is consistent.
    with pytest.raises(InvalidInput, match=r"at resource_spans\[0\]\.scope_spans\[0\]: "):
        decode(_lying_length(good))


def _lying_length(good: bytes) -> bytes:
    scope = field(2, good) + varint(2 << 3 | 2) + varint(len(good) + 50) + good
    resource = make_request([], "iso").resource_spans[0].resource.SerializeToString()
    return field(1, field(1, resource) + field(2, scope))


def test_a_body_upb_refuses_for_no_span_of_its_own_is_still_a_400() -> None:
    with pytest.raises(InvalidInput, match="malformed protobuf"):
        decode(b"\xff\xff\xff garbage")


def test_split_storable_finds_each_bad_row_by_bisection() -> None:
    rows = decode(make_request([make_span(f"s{i}") for i in range(64)], "iso").SerializeToString())
    assert rows.table is not None
    good = rows.table.to_pylist()
    assert len(good) == 64
    calls = 0

    def check(group: object) -> object:
        nonlocal calls
        calls += 1
        assert isinstance(group, list)
        if any(r[4] in ("s7", "s40") for r in group):
            raise InvalidInput("bad", [])
        return None

    plain = [[r[c] for c in rows.table.column_names] for r in good]
    kept, bad = split_storable(plain, check)
    assert [i for i, _, _ in bad] == [7, 40]
    assert kept == [i for i in range(64) if i not in (7, 40)]
    assert calls <= 2 * 2 * 6 + 1  # about 2·k·log2(n) encodings for k bad rows in n
    rows_to_arrow([])  # an empty batch still encodes


def test_rejection_paths_of_several_scopes_point_at_their_own_spans() -> None:
    req = make_request([make_span("a0"), make_span("a1")], "iso")
    second = req.resource_spans.add()
    second.scope_spans.add().spans.extend(
        [make_span("b0"), make_span("b1", attrs={"metadata": nested_json(300)})]
    )
    batch = decode(req.SerializeToString())
    assert names(batch) == ["a0", "a1", "b0"]
    assert batch.rejections == [
        Rejection(
            "resource_spans[1].scope_spans[0].spans[1].metadata",
            batch.rejections[0].reason,
        )
    ]


def _json_body_with_second_span(raw_span: bytes) -> bytes:
    first = b'{"name": "caf\xc3\xa9"}'  # a multi-byte character before the fault
    return (
        b'{"resourceSpans": [{"scopeSpans": [{"spans": []}, {"spans": ['
        + first
        + b", "
        + raw_span
        + b"]}]}]}"
    )


def test_json_nested_past_the_parser_limit_is_a_400_naming_the_span() -> None:
    deep = b'{"attributes": [{"key": "k", "value": ' + b"[" * 1100 + b"]" * 1100 + b"}]}"
    with pytest.raises(InvalidInput, match=r"at resource_spans\[0\]\.scope_spans\[1\]\.spans\[1\]"):
        decode(_json_body_with_second_span(deep), JSON)


def test_json_body_that_is_not_utf8_is_a_400_naming_the_span() -> None:
    with pytest.raises(InvalidInput, match=r"at resource_spans\[0\]\.scope_spans\[1\]\.spans\[1\]"):
        decode(_json_body_with_second_span(b'{"name": "a\xff"}'), JSON)


@pytest.mark.usefixtures("decoder")
@pytest.mark.parametrize("cost", [float("nan"), float("inf"), "-inf", "nan"])
def test_cost_that_is_not_finite_rejects_only_that_span(cost: object) -> None:
    batch = decode(pb_with_bad({"llm.cost.total": cost}))
    assert names(batch) == ["g0", "g2"]
    (rejection,) = batch.rejections
    assert rejection.path == "resource_spans[0].scope_spans[0].spans[1].cost_usd"
    assert "finite" in rejection.reason


def test_json_cost_past_the_float_range_rejects_only_that_span() -> None:
    bad = json_span("bad", "11" * 16, "22" * 8)
    bad["attributes"].append({"key": "llm.cost.total", "value": {"intValue": "1" + "0" * 400}})
    good = json_span("good", "11" * 16, "23" * 8)
    batch = decode(json_request([bad, good], "iso"), JSON)
    assert names(batch) == ["good"]
    assert [r.path.rsplit(".", 1)[0] for r in batch.rejections] == [
        "resource_spans[0].scope_spans[0].spans[0]"
    ]
