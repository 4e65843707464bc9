"""Hand-built protobuf wire bytes, for bodies the protobuf library refuses to build.

upb will not even build a message nested past its depth limit, and never writes invalid
UTF-8, so tests of those bodies write the wire format directly (field numbers from
``opentelemetry/proto/trace/v1/trace.proto`` and ``common.proto``).
"""

from __future__ import annotations

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from support.otlp import make_request


def varint(n: int) -> bytes:
    """Base-128 varint encoding of a non-negative int."""
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """One length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def deep_any_value(depth: int) -> bytes:
    """An AnyValue holding ``depth`` nested ``kvlist_value``s around one string."""
    value = field(1, b"x")  # AnyValue.string_value
    for _ in range(depth):
        key_value = field(1, b"a") + field(2, value)  # KeyValue.key, KeyValue.value
        value = field(6, field(1, key_value))  # AnyValue.kvlist_value{values}
    return value


def span_with_attribute(span: Span, key: str, any_value: bytes) -> bytes:
    """``span`` serialized, with one more attribute whose AnyValue is given as wire bytes."""
    return span.SerializeToString() + field(9, field(1, key.encode()) + field(2, any_value))


def request_of_span_bytes(spans: list[bytes], project: str) -> bytes:
    """An ExportTraceServiceRequest body with one resource and one scope of ``spans``."""
    resource = make_request([], project).resource_spans[0].resource.SerializeToString()
    scope = b"".join(field(2, s) for s in spans)  # ScopeSpans.spans
    resource_spans = field(1, resource) + field(2, scope)  # ResourceSpans.resource, .scope_spans
    return field(1, resource_spans)  # ExportTraceServiceRequest.resource_spans
