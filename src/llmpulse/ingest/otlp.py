"""OTLP/HTTP request bodies → `Normalized` spans (protobuf and JSON, gzip or not).

OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp): the body is an
``ExportTraceServiceRequest`` encoded as binary protobuf (``application/x-protobuf``) or as
OTLP/JSON (``application/json``), optionally ``Content-Encoding: gzip``.

Errors, each an `LlmpulseError` the server maps to a status: an unknown content type is
`UnsupportedMediaType` (415); a body over ``max_body_bytes`` before *or after* decompression is
`PayloadTooLarge` (413; gzip is inflated incrementally with a cap, so a gzip bomb never
allocates more than the limit); an unknown encoding or a body that is not valid gzip,
protobuf or JSON is `InvalidInput` (400) whose detail carries the decoder's reason. Problems
inside one span are not errors: they come back as `Rejection` values next to the good spans.
"""

from __future__ import annotations

import zlib

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmpulse.domain.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from llmpulse.ingest.openinference import normalize_request, request_rows, rows_from_raw, to_span
from llmpulse.ingest.otlp_json import decode_json_rows
from llmpulse.ingest.salvage import salvage_rows
from llmpulse.ingest.types import Normalized, RowBatch
from llmpulse.ingest.wire import decode_raw
from llmpulse.store.events.codec import span_from_row

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "Normalized",
    "decode_request",
    "decode_request_rows",
    "decompress",
    "media_type",
    "normalize_request",
    "to_span",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_MEDIA_TYPES = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
ACCEPTED_MEDIA_TYPES = tuple(_MEDIA_TYPES)
_GZIP = frozenset(("gzip", "x-gzip"))
_IDENTITY = frozenset(("", "identity"))


def decode_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    *,
    max_body_bytes: int,
    header_project: str | None,
) -> Normalized:
    """Decode and normalize one OTLP/HTTP trace export body.

    Args:
        body: the request body as received.
        content_type: the ``Content-Type`` header (parameters such as charset are ignored).
        content_encoding: the ``Content-Encoding`` header (``gzip``, ``identity`` or None).
        max_body_bytes: the limit on the body, checked before and after decompression.
        header_project: the ``x-project-name`` header, used when the resource names no project.

    Returns:
        The normalized spans and the per-span rejections (see `decode_request_rows`).

    Raises:
        UnsupportedMediaType: the content type is neither protobuf nor JSON.
        PayloadTooLarge: the body, compressed or not, is over ``max_body_bytes``.
        InvalidInput: unknown encoding, or the body is not valid gzip, protobuf or JSON.
    """
    batch = decode_request_rows(
        body,
        content_type,
        content_encoding,
        max_body_bytes=max_body_bytes,
        header_project=header_project,
    )
    return Normalized([span_from_row(r) for r in batch.rows], batch.rejections)


def decode_request_rows(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    *,
    max_body_bytes: int,
    header_project: str | None,
) -> RowBatch:
    """`decode_request` for the ingest path: the spans kept come back as store rows.

    Raises:
        UnsupportedMediaType: the content type is neither protobuf nor JSON.
        PayloadTooLarge: the body, compressed or not, is over ``max_body_bytes``.
        InvalidInput: unknown encoding, or the body is not valid gzip, protobuf or JSON.
    """
    kind = media_type(content_type)
    data = decompress(body, content_encoding, max_body_bytes)
    if kind == JSON:
        return decode_json_rows(data, header_project)
    resources = decode_raw(data)
    if resources is not None:
        return rows_from_raw(resources, header_project)
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except DecodeError as exc:
        # One span upb refuses (too deep, not UTF-8) must not sink the others.
        return salvage_rows(data, header_project, str(exc))
    return request_rows(request, header_project)


def media_type(content_type: str | None) -> str:
    """Return the canonical media type of a ``Content-Type`` header, or raise 415."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    canonical = _MEDIA_TYPES.get(essence)
    if canonical is None:
        shown = repr(content_type) if content_type else "no Content-Type"
        raise UnsupportedMediaType(
            f"unsupported content type {shown}; accepted: {', '.join(ACCEPTED_MEDIA_TYPES)}"
        )
    return canonical


def decompress(body: bytes, content_encoding: str | None, max_body_bytes: int) -> bytes:
    """Undo ``Content-Encoding`` with a size cap on both sides.

    Raises:
        PayloadTooLarge: ``body`` or its decompressed form is over ``max_body_bytes``.
        InvalidInput: the encoding is unknown or the gzip stream is corrupt or truncated.
    """
    if len(body) > max_body_bytes:
        raise PayloadTooLarge(f"body of {len(body)} bytes is over the {max_body_bytes}-byte limit")
    encoding = (content_encoding or "").strip().lower()
    if encoding in _IDENTITY:
        return body
    if encoding not in _GZIP:
        raise InvalidInput(
            f"unsupported Content-Encoding {content_encoding!r}; accepted: gzip, identity"
        )
    return _gunzip(body, max_body_bytes)


def _gunzip(body: bytes, limit: int) -> bytes:
    """Inflate a (possibly multi-member) gzip body; never produces more than ``limit`` + 1 bytes."""
    chunks: list[bytes] = []
    produced = 0
    data = body
    try:
        while True:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            chunk = inflater.decompress(data, limit - produced + 1)
            produced += len(chunk)
            if produced > limit:
                raise PayloadTooLarge(f"decompressed body is over the {limit}-byte limit")
            chunks.append(chunk)
            if not inflater.eof:
                raise InvalidInput("malformed gzip body: stream is truncated")
            data = inflater.unused_data
            if not data:
                return b"".join(chunks)
    except zlib.error as exc:
        raise InvalidInput(f"malformed gzip body: {exc}") from exc
