"""OTLP/HTTP response bodies: ExportTraceServiceResponse and google.rpc.Status.

OTLP/HTTP answers in the request's encoding: protobuf for protobuf requests, JSON for JSON
requests. Error bodies are a `Status` message; in JSON we add the problem+json fields
(``type``, ``title``, ``status``, ``detail``, ``errors``) next to ``code`` and ``message`` so one
body serves both OTLP clients and people reading it.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from llmpulse.domain.errors import FieldError
from llmpulse.domain.spans import Rejection

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_GRPC_CODE_BY_HTTP = {
    400: 3, 401: 16, 403: 7, 413: 3, 415: 3, 404: 5, 429: 8, 503: 14, 500: 13,
}  # fmt: skip


def is_json(content_type: str | None) -> bool:
    """True when the request (and so the response) uses the OTLP JSON encoding."""
    return bool(content_type) and content_type.split(";")[0].strip().lower() == JSON  # type: ignore[union-attr]


def partial_success_message(rejections: Sequence[Rejection]) -> str:
    """A human message naming the first rejected span's field path and how many were rejected."""
    first = rejections[0]
    more = f" (and {len(rejections) - 1} more)" if len(rejections) > 1 else ""
    return f"{len(rejections)} span(s) rejected; first: {first.path}: {first.reason}{more}"


def export_response(rejections: Sequence[Rejection], content_type: str | None) -> tuple[bytes, str]:
    """Encode the success response, with ``partial_success`` when spans were rejected."""
    if is_json(content_type):
        body: dict[str, object] = {}
        if rejections:
            body["partialSuccess"] = {
                "rejectedSpans": str(len(rejections)),
                "errorMessage": partial_success_message(rejections),
            }
        return orjson.dumps(body), JSON
    msg = trace_service_pb2.ExportTraceServiceResponse()
    if rejections:
        msg.partial_success.rejected_spans = len(rejections)
        msg.partial_success.error_message = partial_success_message(rejections)
    return msg.SerializeToString(), PROTOBUF


def error_response(
    status: int,
    title: str,
    detail: str,
    errors: Sequence[FieldError],
    content_type: str | None,
) -> tuple[bytes, str]:
    """Encode an error as a `google.rpc.Status` in the request's encoding."""
    code = _GRPC_CODE_BY_HTTP.get(status, 2)
    if is_json(content_type) or not content_type or "protobuf" not in content_type:
        body = {
            "code": code,
            "message": detail,
            "details": [],
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "errors": [{"path": e.path, "message": e.message} for e in errors],
        }
        return orjson.dumps(body), JSON
    return status_pb2.Status(code=code, message=detail).SerializeToString(), PROTOBUF
