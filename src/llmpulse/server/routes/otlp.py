"""OTLP/HTTP trace ingest at ``POST /v1/traces`` (protobuf or JSON, optionally gzip).

Status contract (the OTel exporters retry only 429/502/503/504 and honour Retry-After):
200 with ``partial_success`` when some spans were rejected; 400 undecodable body; 413 body
over the limit; 415 unknown content type; 503 + Retry-After when the ingest queue is full.
A 200 is sent only after the spans are committed to the event store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from llmpulse.domain.errors import LlmpulseError, PayloadTooLarge
from llmpulse.ingest.responses import error_response, export_response
from llmpulse.server.deps import get_services
from llmpulse.server.problems import retry_headers
from llmpulse.server.security import only_project
from llmpulse.server.services import Services

router = APIRouter(tags=["otlp"])


async def read_body(request: Request, limit: int) -> bytes:
    """Read the request body, failing fast once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/v1/traces",
    response_class=Response,
    responses={
        200: {"description": "ExportTraceServiceResponse (partial_success if any span was bad)"},
        400: {"description": "Undecodable body"},
        401: {"description": "No or a wrong API key (when keys are in use)"},
        403: {"description": "The key lacks the ingest scope, or spans of another project"},
        413: {"description": "Body over the limit"},
        415: {"description": "Unsupported content type"},
        503: {"description": "Ingest queue full; retry after Retry-After seconds"},
    },
)
async def export_traces(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> Response:
    """Receive an OTLP ExportTraceServiceRequest."""
    content_type = request.headers.get("content-type")
    try:
        body = await read_body(request, services.settings.max_body_bytes)
        accepted = await services.ingest.accept_otlp(
            body,
            content_type,
            request.headers.get("content-encoding"),
            request.headers.get("x-project-name"),
            only_project(request),
        )
    except LlmpulseError as exc:
        payload, media = error_response(exc.status, exc.title, exc.detail, exc.errors, content_type)
        return Response(payload, exc.status, media_type=media, headers=retry_headers(exc))
    payload, media = export_response(accepted.rejections, content_type)
    return Response(payload, 200, media_type=media)
