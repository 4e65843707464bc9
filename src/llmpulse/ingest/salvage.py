"""Protobuf bodies that upb refuses as a whole, decoded span by span.

upb parses an ``ExportTraceServiceRequest`` all or nothing: one span whose attributes nest
deeper than its depth limit (100 messages), or one string that is not UTF-8, fails the
whole body. `salvage_rows` is the fallback `otlp.decode_request_rows` takes after such a
failure: it walks the wire framing of the envelope (request → ``resource_spans`` →
``scope_spans`` → ``spans``) by hand and lets upb parse each resource, scope and span on its
own, so a span upb refuses becomes a `Rejection` at its path and its neighbours are kept.

Only the framing of the envelope can still fail the body: a length that runs past its
enclosing message. That is `InvalidInput` naming the path of the first bad item
(``resource_spans[0].scope_spans[1].spans[7]``). Field numbers are those of
``opentelemetry/proto/trace/v1/trace.proto`` and ``trace_service.proto``.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.spans import Rejection
from llmpulse.ingest.attributes import key_values_to_dict
from llmpulse.ingest.openinference import (
    checked_row,
    project_rejection,
    raw_span,
    resolve_project,
)
from llmpulse.ingest.types import RowBatch

_LEN = 2
_REQUEST_RESOURCE_SPANS = 1
_RESOURCE = 1
_SCOPE_SPANS = 2
_SCOPE = 1
_SPANS = 2


class _Framing(Exception):
    """The wire framing is broken at ``path``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _varint(data: bytes, pos: int, path: str) -> tuple[int, int]:
    result = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            break
    raise _Framing(path, "truncated or overlong varint")


def _fields(data: bytes, path: str) -> Iterator[tuple[int, int, bytes]]:
    """Yield (field number, wire type, payload) of each field; payload only for LEN fields."""
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos, path)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            _, pos = _varint(data, pos, path)
            yield number, wire_type, b""
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
            if pos > len(data):
                raise _Framing(path, "truncated fixed-width field")
            yield number, wire_type, b""
        elif wire_type == _LEN:
            size, pos = _varint(data, pos, path)
            end = pos + size
            if end > len(data):
                raise _Framing(path, f"field {number} runs past the end of its message")
            yield number, wire_type, data[pos:end]
            pos = end
        else:
            raise _Framing(path, f"unsupported wire type {wire_type}")


def _children(data: bytes, number: int, path: str, name: str) -> list[tuple[str, bytes]]:
    found = [p for n, w, p in _fields(data, path) if n == number and w == _LEN]
    return [(f"{path}.{name}[{i}]" if path else f"{name}[{i}]", p) for i, p in enumerate(found)]


def _single(data: bytes, number: int, path: str) -> bytes:
    parts = [p for n, w, p in _fields(data, path) if n == number and w == _LEN]
    return b"".join(parts)  # protobuf merges repeated occurrences of a message field


def salvage_rows(data: bytes, header_project: str | None, upb_error: str) -> RowBatch:
    """Decode a body upb refused (with ``upb_error``), keeping every span upb accepts alone.

    Raises:
        InvalidInput: the envelope's framing is broken (the message names the first bad
            path), or no single item explains upb's refusal (then its reason is given).
    """
    out = RowBatch([], [])
    try:
        for rpath, resource_spans in _children(data, _REQUEST_RESOURCE_SPANS, "", "resource_spans"):
            _salvage_resource(resource_spans, rpath, header_project, out)
    except _Framing as bad:
        where = bad.path or "the request"
        raise InvalidInput(
            f"malformed protobuf ExportTraceServiceRequest at {where}: {bad.reason}"
        ) from None
    if not out.rejections:  # the fault is somewhere the walk does not look: refuse it all
        raise InvalidInput(f"malformed protobuf ExportTraceServiceRequest: {upb_error}")
    return out


def _salvage_resource(data: bytes, path: str, header_project: str | None, out: RowBatch) -> None:
    scopes = _children(data, _SCOPE_SPANS, path, "scope_spans")
    try:
        resource = Resource.FromString(_single(data, _RESOURCE, path))
    except DecodeError as exc:
        # Its spans cannot be attributed to a project: each is rejected, pointing here.
        n = sum(len(_children(scope, _SPANS, spath, "spans")) for spath, scope in scopes)
        reason = f"malformed resource: {exc}"
        out.rejections.extend(Rejection(f"{path}.resource", reason) for _ in range(max(1, n)))
        return
    resource_attrs = key_values_to_dict(resource.attributes)
    project = resolve_project(resource_attrs, header_project)
    refused = project_rejection(project, resource_attrs, path)
    if refused is not None:
        n = sum(len(_children(scope, _SPANS, spath, "spans")) for spath, scope in scopes)
        out.rejections.extend(refused for _ in range(max(1, n)))
        return
    for spath, scope_spans in scopes:
        spans = _children(scope_spans, _SPANS, spath, "spans")
        try:
            scope = InstrumentationScope.FromString(_single(scope_spans, _SCOPE, spath))
        except DecodeError as exc:
            out.rejections.extend(Rejection(f"{spath}.scope", f"malformed: {exc}") for _ in spans)
            continue
        kept: list[int] = []
        out.add_origin(spath, kept)
        for pi, (span_path, span_bytes) in enumerate(spans):
            try:
                raw = raw_span(OtlpSpan.FromString(span_bytes))
            except DecodeError as exc:
                out.rejections.append(Rejection(span_path, f"malformed protobuf span: {exc}"))
                continue
            row = checked_row(raw, resource_attrs, scope.name, scope.version, project)
            if isinstance(row, list):
                kept.append(pi)
                out.rows.append(row)
            else:
                out.rejections.append(Rejection(f"{span_path}.{row[0]}", row[1]))
