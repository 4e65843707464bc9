"""Spans and traces: listing with filters, one trace as a tree, one span.

``GET /api/v1/projects/{project}/spans`` takes the traces-table view parameters
(`llmpulse.server.routes.span_params`: filters, ``sort`` and ``order``), ``limit`` (1 to 1000)
and ``cursor`` (from ``next_cursor``, valid for the same sort and order only).
"""

from __future__ import annotations

import asyncio
from dataclasses import fields, replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from llmpulse.domain.errors import NotFound
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span
from llmpulse.governance.sessions import sees
from llmpulse.query.clip import FIELDS as CLIP_FIELDS
from llmpulse.query.clip import clip_span, full_value
from llmpulse.query.service import QueryService
from llmpulse.query.traces import SpanNode
from llmpulse.server.deps import get_services, services_of
from llmpulse.server.routes.models import (
    AnnotationOut,
    SpanOut,
    fast_json,
    json_response,
    span_to_dict,
    to_json,
)
from llmpulse.server.routes.span_params import ViewParams, view_of
from llmpulse.server.routes.span_rows import plain_rows
from llmpulse.server.services import Services
from llmpulse.store.api import SpanQuery, TraceTotals
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES

router = APIRouter(prefix="/api/v1", tags=["spans"])


class TraceTotalsOut(BaseModel):
    """Sums over every span of a root span's trace."""

    total_tokens: int
    cost_usd: float
    errors: int
    num_spans: int
    latency_ms: float  # from the trace's first span start to its last span end


class SpanRowOut(SpanOut):
    """A span as a traces-table row: root spans carry their trace's totals; summary rows of
    a search carry where the span matched."""

    trace: TraceTotalsOut | None = None
    match: str | None = None
    """Summary rows of a search (``fields=summary`` with ``text``) only: a lower-cased
    excerpt of the span's searched text, up to 60 characters before the first match and 200
    after it (ADR 0051)."""


class SpanPage(BaseModel):
    """One page of spans."""

    data: list[SpanRowOut]
    next_cursor: str | None
    total: int | None = None
    total_capped: bool | None = None  # True: at least `total` match (``total_limit`` reached)


class SpanNodeOut(BaseModel):
    """A span and its children."""

    span: SpanOut
    children: list[SpanNodeOut]

    @classmethod
    def from_node(cls, node: SpanNode) -> SpanNodeOut:
        """Map a tree node, recursively."""
        return cls(
            span=SpanOut.from_domain(*clip_span(node.span)),
            children=[cls.from_node(c) for c in node.children],
        )


class TraceOut(BaseModel):
    """A whole trace."""

    trace_id: str
    project: str
    num_spans: int
    start_time: datetime
    end_time: datetime
    latency_ms: float
    roots: list[SpanNodeOut]


class AnnotationList(BaseModel):
    """Annotations of one span."""

    data: list[AnnotationOut]


class SpanListParams(ViewParams):
    """`list_spans`' query: the view, its page and what to count."""

    limit: int = Field(100, ge=1, le=1000)
    cursor: str | None = None
    total: bool = Field(False, description="count every matching span (`total`)")
    total_limit: int | None = Field(
        None,
        ge=1,
        description="count no further than this (`total_capped` says it was reached): "
        "bounds the count of a search for a common word",
    )
    fields: Literal["full", "summary"] = Field(
        "full",
        description="full (default), or summary: a table's columns (ADR 0045). "
        "input_value is its first 160 characters (or those of the last input message's "
        "content) on one line, whitespace runs made one space, ending in … when cut; "
        "the output, messages, documents, events, attributes, resource attributes and "
        "the status and exception messages are left out (null or empty). Pages sorted by "
        "latency, tokens or cost read 4-8x faster. With text, each row carries match: a "
        "lower-cased excerpt of its searched text around the first match",
    )


@router.get(
    "/projects/{project}/spans",
    response_model=SpanPage,
    openapi_extra=SpanListParams.openapi(),
)
async def list_spans(project: str, request: Request) -> Response:
    """List a project's spans in the view's order, with filters and cursor pagination.

    Root spans carry their trace's totals (``trace``); with ``total=true`` the answer counts
    every span that matches the filters (traces, for a trace sort), or with ``total_limit``
    up to that many.
    """
    p = SpanListParams.from_request(request)  # one validation (ADR 0068)
    query = replace(view_of(project, p), limit=p.limit, cursor=p.cursor, fields=p.fields)
    services = services_of(request)
    await services.query.require_project(ProjectName(project))
    body = await span_page_json(
        services.query, query, with_total=p.total, total_limit=p.total_limit
    )
    return json_response(body)


async def span_page_json(
    query: QueryService, q: SpanQuery, *, with_total: bool = False, total_limit: int | None = None
) -> bytes:
    """The body of `list_spans`, cached serialized with the page (a function of the data
    version and ``q`` alone).

    Serialized directly (same shape as SpanPage, which documents it): 100 spans of a few kB
    each cost several ms through response-model validation, and ~1 ms as plain data.
    """

    async def render() -> bytes:
        page = await query.list_span_rows(q)  # the cache keeps the bytes instead
        roots = [r[_TRACE_ID] for r in page.items if r[_PARENT] is None]
        # The totals' statement runs while the rows are encoded (ADR 0040): DuckDB lets go
        # of the GIL, the encoding holds it. A trace-sorted page may carry them already.
        if page.totals is not None:
            totals_task = asyncio.ensure_future(_given(page.totals))
        else:
            totals_task = asyncio.ensure_future(query.trace_totals(roots) if roots else _given({}))
        try:
            data = await asyncio.to_thread(plain_rows, page.items)  # straight from the rows
        except BaseException:
            totals_task.cancel()
            raise
        totals = await totals_task
        for row in data:
            t = totals.get(row["trace_id"]) if row["parent_span_id"] is None else None
            row["trace"] = {k: getattr(t, k) for k in _TOTALS} if t is not None else None
        if page.excerpts is not None:
            for row, excerpt in zip(data, page.excerpts, strict=True):
                row["match"] = excerpt
        body: dict[str, object] = {"data": data, "next_cursor": page.next_cursor}
        body["total"] = body["total_capped"] = None
        if with_total:
            at_most = None if total_limit is None else total_limit + 1
            n = await query.count_spans(q, at_most)
            capped = total_limit is not None and n > total_limit
            body["total"] = total_limit if capped else n
            body["total_capped"] = capped
        return to_json(body)

    return await query.memo("spans_json", (q, with_total, total_limit), render)


async def _given(totals: dict[str, TraceTotals]) -> dict[str, TraceTotals]:
    return totals


_TRACE_ID = SPAN_COLUMN_NAMES.index("trace_id")
_TOTALS = tuple(f.name for f in fields(TraceTotals))
"""A root row's ``trace`` keys (`dataclasses.asdict` deep-copies each value: ~0.3 ms for
a page's 33 roots, more than the rest of the row)."""
_PARENT = SPAN_COLUMN_NAMES.index("parent_span_id")


@router.get("/traces/{trace_id}")
async def get_trace(
    request: Request, trace_id: str, services: Annotated[Services, Depends(get_services)]
) -> TraceOut:
    """One trace with all its spans, as a tree."""
    trace = await services.query.get_trace(TraceId(trace_id.lower()))
    if not sees(request, trace.spans[0].project):
        raise NotFound(f"trace {trace_id} not found")
    start = min(s.start_time for s in trace.spans)
    end = max(s.end_time for s in trace.spans)
    return TraceOut(
        trace_id=trace.trace_id,
        project=trace.spans[0].project,
        num_spans=len(trace.spans),
        start_time=start,
        end_time=end,
        latency_ms=(end - start).total_seconds() * 1000.0,
        roots=[SpanNodeOut.from_node(n) for n in trace.roots],
    )


@router.get("/spans/{span_id}", response_model=SpanOut)
async def get_span(
    request: Request, span_id: str, services: Annotated[Services, Depends(get_services)]
) -> Response:
    """One span by id."""
    return fast_json(span_to_dict(await _visible_span(request, span_id, services)))


async def _visible_span(request: Request, span_id: str, services: Services) -> Span:
    span = await services.query.get_span(SpanId(span_id.lower()))
    if not sees(request, span.project):
        raise NotFound(f"span {span_id} not found")
    return span


@router.get(
    "/spans/{span_id}/value",
    response_class=Response,
    responses={
        200: {
            "description": "The full value: text for a string, else JSON",
            "content": {"text/plain": {}, "application/json": {}},
        }
    },
)
async def get_span_value(
    request: Request,
    span_id: str,
    services: Annotated[Services, Depends(get_services)],
    field: Annotated[str, Query(description=f"one of: {', '.join(CLIP_FIELDS)}")],
    key: Annotated[str | None, Query(description="attribute key, or item index")] = None,
) -> Response:
    """One value of a span in full (listings cut long values; their ``truncated`` links here)."""
    value = full_value(await _visible_span(request, span_id, services), field, key)
    if isinstance(value, str):
        return Response(value, media_type="text/plain; charset=utf-8")
    return fast_json(value)


@router.get("/spans/{span_id}/annotations")
async def list_span_annotations(
    request: Request, span_id: str, services: Annotated[Services, Depends(get_services)]
) -> AnnotationList:
    """Annotations of one span, including those logged against its prediction id."""
    span = await _visible_span(request, span_id, services)
    pred = [span.prediction_id] if span.prediction_id else []
    items = await services.query.list_annotations([span.span_id], pred)
    return AnnotationList(data=[AnnotationOut.from_domain(a) for a in items])
