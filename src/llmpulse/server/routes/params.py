"""Query-string parsing shared by the metric, segment and comparison routes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query, Request

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import MetricSpec, parse_metric
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.query.filters import as_utc, parse_attrs, parse_enum
from llmpulse.query.segments import Scope
from llmpulse.server.deps import services_of
from llmpulse.server.routes.query_models import QueryParams
from llmpulse.server.services import Services
from llmpulse.store.api import SpanFilter, TimeRange


def parse_bucket(text: str | None) -> timedelta | None:
    """The ``bucket`` parameter (``5m``, ``1h``, ``1d`` or seconds); None for no buckets."""
    return parse_duration(text, "bucket") if text else None


def parse_metrics(values: Sequence[str]) -> tuple[MetricSpec, ...]:
    """Each ``metric`` query value as a `MetricSpec`."""
    if not values:
        raise InvalidInput("no metric given", [FieldError("metric", "e.g. latency_ms:p95")])
    return tuple(parse_metric(v, f"metric[{i}]") for i, v in enumerate(values))


def time_range(start: datetime | None, end: datetime | None) -> TimeRange:
    """A `TimeRange`, refusing an end before the start."""
    s, e = as_utc(start), as_utc(end)
    if s is not None and e is not None and e < s:
        raise InvalidInput("end is before start", [FieldError("end", "must be after start")])
    return TimeRange(s, e)


def span_filter(
    kind: Sequence[str], status: str | None, model: Sequence[str], name: Sequence[str],
    attr: Sequence[str],
    root_only: bool, conditions: tuple[Condition, ...] = (),
) -> SpanFilter:  # fmt: skip
    """The shared span filters from query values."""
    return SpanFilter(
        kinds=tuple(parse_enum(SpanKind, k, "kind") for k in kind),
        status=parse_enum(StatusCode, status, "status") if status else None,
        models=tuple(model),
        names=tuple(name),
        attributes=parse_attrs(attr),
        root_only=root_only,
        conditions=conditions,
    )


ListParam = Annotated[list[str], Query()]


class SpanFilterParams(QueryParams):
    """The span filters of the analysis routes and the traces-table views alike."""

    start: datetime | None = None
    end: datetime | None = None
    kind: tuple[str, ...] = ()
    status: str | None = None
    model: tuple[str, ...] = ()
    name: tuple[str, ...] = ()
    attr: tuple[str, ...] = ()
    root_only: bool = False


class ScopeParams(SpanFilterParams):
    """The filters every analysis route shares (`scope_of`)."""

    cohort: str | None = None


async def scope_from(project: str, services: Services, p: ScopeParams) -> Scope:
    """The spans an analysis looks at, from the filters every analysis route shares."""
    name = ProjectName(project)
    await services.query.require_project(name)
    conditions = await services.cohorts.conditions(name, p.cohort)
    return Scope(
        name, time_range(p.start, p.end),
        span_filter(p.kind, p.status, p.model, p.name, p.attr, p.root_only, conditions),
    )  # fmt: skip


async def scope_of(project: str, request: Request) -> Scope:
    """`scope_from` of the request's `ScopeParams` (routes add ``ScopeParams.openapi()``)."""
    return await scope_from(project, services_of(request), ScopeParams.from_request(request))


ScopeDep = Annotated[Scope, Depends(scope_of)]
