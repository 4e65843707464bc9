"""Export a traces-table view as CSV, JSON lines or Parquet, streamed.

``GET /api/v1/projects/{project}/spans/export`` takes the same view parameters as the span
listing (`llmpulse.server.routes.span_params`: filters, ``sort``, ``order``), plus ``format``
and an optional ``max_rows``. The body is streamed a page at a time (`llmpulse.query.export`),
so the server never holds the whole result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import StreamingResponse

from llmpulse.domain.ids import ProjectName
from llmpulse.query.export import MEDIA_TYPES, ExportFormat, export_chunks
from llmpulse.server.deps import get_services
from llmpulse.server.routes.span_params import ViewParams, view_query
from llmpulse.server.services import Services
from llmpulse.store.api import SpanQuery

router = APIRouter(prefix="/api/v1", tags=["spans"])


@router.get(
    "/projects/{project}/spans/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The view's spans, one row each, in the view's order",
            "content": {media: {} for media in MEDIA_TYPES.values()},
        }
    },
    openapi_extra=ViewParams.openapi(),
)
async def export_spans(
    project: str,
    services: Annotated[Services, Depends(get_services)],
    view: Annotated[SpanQuery, Depends(view_query)],
    format: Annotated[ExportFormat, Query(description="csv, jsonl or parquet")] = "csv",
    max_rows: Annotated[int | None, Query(ge=1, description="stop after this many rows")] = None,
) -> StreamingResponse:
    """Export every span of a traces-table view (same filters and order), streamed."""
    await services.query.require_project(ProjectName(project))
    chunks = export_chunks(services.query, view, format, max_rows=max_rows)
    # read the header and the first page before answering: bad input fails as a 400 here,
    # not as a cut stream after a 200
    head = [chunk async for chunk in _take(chunks, 2)]
    return StreamingResponse(
        _nonempty(head, chunks),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{project}-spans.{format}"'},
    )


async def _take(chunks: AsyncIterator[bytes], n: int) -> AsyncIterator[bytes]:
    for _ in range(n):
        try:
            yield await anext(chunks)
        except StopAsyncIteration:
            return


async def _nonempty(head: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in head:
        if chunk:
            yield chunk
    async for chunk in rest:
        if chunk:
            yield chunk
