"""Metrics: ``GET /api/v1/projects/{project}/metrics`` (series or window aggregates).

``metric`` (repeatable) is ``field:agg`` (see `llmpulse.domain.metrics`), ``bucket`` a duration
from ``1m`` to ``1d`` (omit for one window aggregate), ``group_by`` up to two keys, and the
span filters of the spans route. Each row carries ``n`` (spans), per-metric ``support``
(spans that had the field; for ``per_trace``, ``per_session`` and ``per_user`` the units
averaged) and ``excluded`` (units left out because their cost is unknown: a trace with an
unpriced LLM call is never counted as cheaper). A bucket with no spans has no row (no data is
not zero).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from llmpulse.query.group_keys import resolve_group_keys
from llmpulse.query.service import QueryService
from llmpulse.server.deps import services_of
from llmpulse.server.routes.models import json_response, to_json
from llmpulse.server.routes.params import ScopeParams, parse_bucket, parse_metrics, scope_from
from llmpulse.store.metric_api import MetricFrame, MetricQuery

router = APIRouter(prefix="/api/v1", tags=["metrics"])


class MetricRowOut(BaseModel):
    """One bucket and group."""

    bucket: datetime | None
    group: list[str | None]
    n: int
    values: dict[str, float | None]
    support: dict[str, int]
    excluded: dict[str, int] = {}


class MetricFrameOut(BaseModel):
    """A metric series or window aggregate."""

    metrics: list[str]
    group_by: list[str]
    bucket_s: int | None
    rows: list[MetricRowOut]

    @classmethod
    def from_frame(cls, f: MetricFrame, bucket_s: int | None) -> MetricFrameOut:
        """Map a store frame (the same mapping `frame_to_dict` serializes directly)."""
        return cls.model_validate(frame_to_dict(f, bucket_s))


def frame_to_dict(f: MetricFrame, bucket_s: int | None) -> dict[str, Any]:
    """A frame as the plain data of `MetricFrameOut`."""
    names = f.metrics
    rows = [
        {
            "bucket": r.bucket,
            "group": list(r.group),
            "n": r.n,
            "values": dict(zip(names, r.values, strict=True)),
            "support": dict(zip(names, r.support, strict=True)),
            "excluded": dict(zip(names, r.excluded or (0,) * len(names), strict=True)),
        }
        for r in f.rows
    ]
    return {
        "metrics": list(names),
        "group_by": list(f.group_by),
        "bucket_s": bucket_s,
        "rows": rows,
    }


async def metric_json(query: QueryService, q: MetricQuery, bucket_s: int | None) -> bytes:
    """The body of `get_metrics`: `MetricFrameOut` as JSON, cached serialized with the frame.

    Serialized directly: a 7-day 5-minute series by region is 8,064 rows, and response-model
    validation would cost more than the query. The body is a function of the data version,
    ``q`` (cohort conditions and cohort group keys are resolved into it, so an edited cohort
    is another key) and ``bucket_s``; prices apply at ingest, so a price change shows only
    through new spans, that is a new data version.
    """

    async def render() -> bytes:
        frame = await query.metric(q, keep=False)  # the cache keeps the bytes instead
        return to_json(frame_to_dict(frame, bucket_s))

    return await query.memo("metric_json", (q, bucket_s), render)


class MetricParams(ScopeParams):
    """`get_metrics`' query: the shared filters and the metrics asked."""

    metric: tuple[str, ...] = ()
    bucket: str | None = None
    group_by: tuple[str, ...] = ()
    max_groups: int = Field(50, ge=1, le=1000)
    approx: bool = Field(
        False, description="latency quantiles from the span sketch, within 1 % (ADR 0021)"
    )


@router.get(
    "/projects/{project}/metrics",
    response_model=MetricFrameOut,
    openapi_extra=MetricParams.openapi(),
)
async def get_metrics(project: str, request: Request) -> Response:
    """Compute metrics over a project's spans (``cohort`` filters; ``cohort:<name>`` groups).

    Counts come from the span sketch where they can, exactly; with ``approx=true`` so do
    latency quantiles over the project or its root spans, within 1 % of the exact value.
    """
    p = MetricParams.from_request(request)  # one validation (ADR 0068)
    services = services_of(request)
    scope = await scope_from(project, services, p)
    width = parse_bucket(p.bucket)
    keys = await resolve_group_keys(  # an unknown key is a 400 naming the nearest ones
        services.query, services.cohorts, scope.project, tuple(p.group_by), "group_by"
    )
    q = MetricQuery(
        project=scope.project,
        metrics=parse_metrics(p.metric),
        time=scope.time,
        bucket=width,
        group_by=keys,
        where=scope.where,
        max_groups=p.max_groups,
        approximate=p.approx,
    )
    bucket_s = int(width.total_seconds()) if width else None
    return json_response(await metric_json(services.query, q, bucket_s))
