"""The native OTLP wire decoder gives exactly upb's raw spans, or defers to upb."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import decoder, encoder
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_payloads import any_value, rag_trace, request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    EntityRef,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from llmpulse.ingest import native, wire
from llmpulse.ingest.openinference import RawResource, raw_resources, request_rows
from llmpulse.ingest.otlp import decode_request_rows

T = FieldDescriptor
# What _wire.c reads, per message: field name → (number, type). A new field in
# opentelemetry-proto fails this table, so the decoder is reviewed before it can misread one.
KNOWN_FIELDS: dict[str, dict[str, tuple[int, int]]] = {
    "ExportTraceServiceRequest": {"resource_spans": (1, T.TYPE_MESSAGE)},
    "ResourceSpans": {
        "resource": (1, T.TYPE_MESSAGE),
        "scope_spans": (2, T.TYPE_MESSAGE),
        "schema_url": (3, T.TYPE_STRING),
    },
    "Resource": {
        "attributes": (1, T.TYPE_MESSAGE),
        "dropped_attributes_count": (2, T.TYPE_UINT32),
        "entity_refs": (3, T.TYPE_MESSAGE),
    },
    "EntityRef": {
        "schema_url": (1, T.TYPE_STRING),
        "type": (2, T.TYPE_STRING),
        "id_keys": (3, T.TYPE_STRING),
        "description_keys": (4, T.TYPE_STRING),
    },
    "ScopeSpans": {
        "scope": (1, T.TYPE_MESSAGE),
        "spans": (2, T.TYPE_MESSAGE),
        "schema_url": (3, T.TYPE_STRING),
    },
    "InstrumentationScope": {
        "name": (1, T.TYPE_STRING),
        "version": (2, T.TYPE_STRING),
        "attributes": (3, T.TYPE_MESSAGE),
        "dropped_attributes_count": (4, T.TYPE_UINT32),
    },
    "Span": {
        "trace_id": (1, T.TYPE_BYTES),
        "span_id": (2, T.TYPE_BYTES),
        "trace_state": (3, T.TYPE_STRING),
        "parent_span_id": (4, T.TYPE_BYTES),
        "name": (5, T.TYPE_STRING),
        "kind": (6, T.TYPE_ENUM),
        "start_time_unix_nano": (7, T.TYPE_FIXED64),
        "end_time_unix_nano": (8, T.TYPE_FIXED64),
        "attributes": (9, T.TYPE_MESSAGE),
        "dropped_attributes_count": (10, T.TYPE_UINT32),
        "events": (11, T.TYPE_MESSAGE),
        "dropped_events_count": (12, T.TYPE_UINT32),
        "links": (13, T.TYPE_MESSAGE),
        "dropped_links_count": (14, T.TYPE_UINT32),
        "status": (15, T.TYPE_MESSAGE),
        "flags": (16, T.TYPE_FIXED32),
    },
    "Event": {
        "time_unix_nano": (1, T.TYPE_FIXED64),
        "name": (2, T.TYPE_STRING),
        "attributes": (3, T.TYPE_MESSAGE),
        "dropped_attributes_count": (4, T.TYPE_UINT32),
    },
    "Link": {
        "trace_id": (1, T.TYPE_BYTES),
        "span_id": (2, T.TYPE_BYTES),
        "trace_state": (3, T.TYPE_STRING),
        "attributes": (4, T.TYPE_MESSAGE),
        "dropped_attributes_count": (5, T.TYPE_UINT32),
        "flags": (6, T.TYPE_FIXED32),
    },
    "Status": {"message": (2, T.TYPE_STRING), "code": (3, T.TYPE_ENUM)},
    "KeyValue": {
        "key": (1, T.TYPE_STRING),
        "value": (2, T.TYPE_MESSAGE),
        "key_strindex": (3, T.TYPE_INT32),
    },
    "AnyValue": {
        "string_value": (1, T.TYPE_STRING),
        "bool_value": (2, T.TYPE_BOOL),
        "int_value": (3, T.TYPE_INT64),
        "double_value": (4, T.TYPE_DOUBLE),
        "array_value": (5, T.TYPE_MESSAGE),
        "kvlist_value": (6, T.TYPE_MESSAGE),
        "bytes_value": (7, T.TYPE_BYTES),
        "string_value_strindex": (8, T.TYPE_INT32),
    },
    "ArrayValue": {"values": (1, T.TYPE_MESSAGE)},
    "KeyValueList": {"values": (1, T.TYPE_MESSAGE)},
}


def upb_raw(body: bytes) -> list[RawResource]:
    return raw_resources(ExportTraceServiceRequest.FromString(body))


def test_wire_native_decoder_is_built() -> None:
    assert native.module is not None, "the _wire extension did not build (scripts/setup does it)"


def test_wire_knows_every_field_of_the_installed_schema() -> None:
    found: dict[str, dict[str, tuple[int, int]]] = {}
    todo = [ExportTraceServiceRequest.DESCRIPTOR]
    while todo:
        desc = todo.pop()
        if desc.name in found:
            continue
        found[desc.name] = {f.name: (f.number, f.type) for f in desc.fields}
        todo.extend(f.message_type for f in desc.fields if f.message_type is not None)
    assert found == KNOWN_FIELDS


def test_wire_matches_upb_on_the_rag_trace() -> None:
    body = request(rag_trace(), {"service.name": "rag"}).SerializeToString()
    native = wire.decode_raw(body)
    assert native is not None
    assert native == upb_raw(body)


# -- generated requests ------------------------------------------------------------------

keys = st.one_of(
    st.sampled_from(
        [
            "llm.model_name",
            "llm.input_messages.0.message.role",
            "llm.input_messages.0.message.content",
            "retrieval.documents.1.document.score",
            "gen_ai.prompt.0.content",
            "metadata",
            "tag.tags",
            "",
        ]
    ),
    st.text(max_size=12),
)
scalars = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.binary(max_size=10),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def to_kvs(items: list[tuple[str, Any]]) -> list[KeyValue]:
    """Like `key_values`, but from pairs, so a key may repeat (the later one wins)."""
    return [KeyValue(key=k, value=any_value(v)) for k, v in items]


attributes = st.lists(st.tuples(keys, values), max_size=6).map(to_kvs)
ids = st.one_of(
    st.binary(min_size=8, max_size=8), st.binary(min_size=16, max_size=16), st.binary(max_size=20)
)
times = st.one_of(st.integers(min_value=0, max_value=2**64 - 1), st.just(1_763_900_000_000_000_000))
events = st.builds(
    Span.Event, time_unix_nano=times, name=st.text(max_size=10), attributes=attributes
)
links = st.builds(
    Span.Link, trace_id=ids, span_id=ids, trace_state=st.text(max_size=5), attributes=attributes,
    flags=st.integers(min_value=0, max_value=2**32 - 1),
)  # fmt: skip
statuses = st.builds(
    Status, code=st.integers(min_value=-(2**31), max_value=2**31 - 1), message=st.text(max_size=8)
)
spans = st.builds(
    Span,
    trace_id=ids,
    span_id=ids,
    parent_span_id=ids,
    trace_state=st.text(max_size=5),
    name=st.text(max_size=10),
    kind=st.integers(min_value=0, max_value=5),
    start_time_unix_nano=times,
    end_time_unix_nano=times,
    attributes=attributes,
    dropped_attributes_count=st.integers(min_value=0, max_value=2**32 - 1),
    events=st.lists(events, max_size=2),
    links=st.lists(links, max_size=1),
    status=st.one_of(st.none(), statuses),
    flags=st.integers(min_value=0, max_value=2**32 - 1),
)
scopes = st.builds(
    InstrumentationScope, name=st.text(max_size=8), version=st.text(max_size=4),
    attributes=attributes,
)  # fmt: skip
resources = st.builds(
    Resource,
    attributes=attributes,
    entity_refs=st.lists(
        st.builds(EntityRef, type=st.text(max_size=4), id_keys=st.lists(st.text(max_size=3))),
        max_size=1,
    ),
)
requests = st.builds(
    ExportTraceServiceRequest,
    resource_spans=st.lists(
        st.builds(
            ResourceSpans,
            resource=st.one_of(st.none(), resources),
            scope_spans=st.lists(
                st.builds(
                    ScopeSpans,
                    scope=st.one_of(st.none(), scopes),
                    spans=st.lists(spans, max_size=3),
                    schema_url=st.text(max_size=5),
                ),
                max_size=2,
            ),
        ),
        max_size=2,
    ),
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(request=requests)
def test_wire_matches_upb_on_generated_requests(request: ExportTraceServiceRequest) -> None:
    body = request.SerializeToString()
    assert wire.decode_raw(body) == upb_raw(body)


def corrupt(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(4)
        if action == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif action == 1:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif action == 2 and data:
            del data[rng.randrange(len(data))]
        else:
            data = data[: rng.randrange(len(data) + 1)]
    return bytes(data)


@FUZZ
@given(request=requests, seed=st.integers(min_value=0, max_value=2**32))
def test_wire_matches_upb_or_defers_on_corrupted_bodies(
    request: ExportTraceServiceRequest, seed: int
) -> None:
    body = corrupt(request.SerializeToString(), random.Random(seed))
    native = wire.decode_raw(body)
    try:
        expected = upb_raw(body)
    except DecodeError:
        assert native is None, "upb refuses this body, so the native decoder must defer"
        return
    if native is not None:
        assert native == expected


# -- cases the native decoder hands to upb ----------------------------------------------


def test_wire_defers_when_a_singular_message_would_be_merged() -> None:
    part = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=Resource(attributes=to_kvs([("a", "1")])))]
    )
    twice = ResourceSpans(resource=Resource(attributes=to_kvs([("b", "2")])))
    # Two `resource` fields inside one ResourceSpans: protobuf merges them.
    inner = part.resource_spans[0].SerializeToString() + twice.SerializeToString()
    body = b"\x0a" + bytes([len(inner)]) + inner
    assert wire.decode_raw(body) is None
    assert upb_raw(body)[0][0] == {"a": "1", "b": "2"}


def test_wire_defers_on_invalid_utf8() -> None:
    span = Span(name="ok", trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)))
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()
    broken = body.replace(b"ok", b"\xff\xfe")
    assert wire.decode_raw(broken) is None
    with pytest.raises(DecodeError):
        upb_raw(broken)


@pytest.mark.parametrize("where", ["span", "link", "resource"])
def test_wire_defers_on_invalid_utf8_in_an_overwritten_attribute_key(where: str) -> None:
    """A KeyValue whose key field comes twice keeps the last, but upb checks both: a bad
    first key must make the native decoder defer (found by the corrupted-bodies fuzz test)."""
    marker = "zz-marker-key"
    attr = KeyValue(key=marker, value=AnyValue(string_value="v"))
    span = Span(name="ok", trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)))
    if where == "span":
        span.attributes.append(attr)
    elif where == "link":
        span.links.add(trace_id=bytes(range(1, 17)), span_id=bytes(range(2, 10))).attributes.append(
            attr
        )
    rs = ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])
    if where == "resource":
        rs.resource.attributes.append(attr)
    body = ExportTraceServiceRequest(resource_spans=[rs]).SerializeToString()
    # Inside the KeyValue, put an invalid first key before the valid one (length grows by 5).
    old_kv = attr.SerializeToString()
    new_kv = b"\x0a\x03:\x01\xac" + old_kv
    assert body.count(old_kv) == 1
    broken = _grow(body, old_kv, new_kv)
    with pytest.raises(DecodeError):
        upb_raw(broken)
    assert wire.decode_raw(broken) is None
    assert wire.decode_raw(body) is not None  # the same body with one key is decoded


def _grow(body: bytes, old: bytes, new: bytes) -> bytes:
    """Replace ``old`` by ``new`` inside a serialized request, fixing every enclosing length."""

    def rewrite(buf: bytes) -> bytes:
        if buf == old:
            return new
        out = bytearray()
        i = 0
        while i < len(buf):
            tag, j = decoder._DecodeVarint(buf, i)
            wire_type = tag & 7
            if wire_type == 2:
                n, k = decoder._DecodeVarint(buf, j)
                inner = buf[k : k + n]
                grown = rewrite(inner) if old in inner else inner
                out += buf[i:j] + encoder._VarintBytes(len(grown)) + grown
                i = k + n
            elif wire_type == 0:
                _, k = decoder._DecodeVarint(buf, j)
                out += buf[i:k]
                i = k
            else:
                size = 8 if wire_type == 1 else 4
                out += buf[i : j + size]
                i = j + size
        return bytes(out)

    return rewrite(body)


def test_wire_defers_on_string_value_strindex() -> None:
    attr = KeyValue(key="k", value=AnyValue(string_value_strindex=3))
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=Resource(attributes=[attr]))]
    ).SerializeToString()
    assert wire.decode_raw(body) is None


def test_wire_defers_on_deep_nesting() -> None:
    value = AnyValue(string_value="leaf")
    for _ in range(40):
        value = AnyValue(array_value=ArrayValue(values=[value]))
    body = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(resource=Resource(attributes=[KeyValue(key="k", value=value)]))
        ]
    ).SerializeToString()
    assert wire.decode_raw(body) is None
    assert upb_raw(body)[0][0]["k"] is not None


def test_wire_keeps_nan_and_infinities() -> None:
    kvs = to_kvs([("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf)])
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=Resource(attributes=kvs))]
    ).SerializeToString()
    native = wire.decode_raw(body)
    assert native is not None
    got = native[0][0]
    assert math.isnan(got["nan"])
    assert (got["inf"], got["-inf"]) == (math.inf, -math.inf)


def test_decode_request_rows_is_the_same_whichever_decoder_runs() -> None:
    body = request(rag_trace(), {"service.name": "rag"}).SerializeToString()
    native = decode_request_rows(
        body, "application/x-protobuf", None, max_body_bytes=1 << 24, header_project=None
    )
    upb = ExportTraceServiceRequest.FromString(body)
    assert native == request_rows(upb, None)
