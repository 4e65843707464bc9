"""Segments, slice discovery, fairness and version comparison (METHODS.md §4).

* ``GET /api/v1/projects/{project}/segments?metric=&key=``: every value of one key against the
  rest, with the right test for the metric, BH-adjusted p, effect, CI and impact rank.
* ``GET /api/v1/projects/{project}/segments/discover?metric=&key=&key=…``: the worst one- and
  two-key slices.
* ``GET /api/v1/projects/{project}/fairness?metric=&key=[&format=csv]``: parity report.
* ``GET /api/v1/projects/{project}/compare?key=&baseline=&candidate=&metric=…``: canary/A-B.

All take the span filters and ``start``/``end`` of the metrics route. ``direction`` defaults to
the metric's own (errors, latency, cost, tokens: higher is worse); ``unit`` (trace, session,
user or span) is the unit of analysis of segments, fairness and compare (METHODS.md §4.10).
An aggregate a route does not compute as asked is refused with a 400 that lists, per route,
the aggregates it supports.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.responses import Response

from llmpulse.analysis.nothing_found import why_no_change, why_no_worse_slice
from llmpulse.analysis.segments import SliceResult
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import parse_metric
from llmpulse.query.segments import SegmentReport
from llmpulse.server.deps import get_services
from llmpulse.server.routes.params import (
    ListParam,
    ScopeDep,
    ScopeParams,
    parse_metrics,
    time_range,
)
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["segments"])
DirectionParam = Literal["higher_is_worse", "lower_is_worse"] | None
UnitParam = Literal["trace", "session", "user", "span"]
DEFAULT_GUARD_RAILS = ("latency_ms:p95", "error:rate", "cost_usd:mean")


def clean(value: Any) -> Any:
    """NaN and infinities become null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


class SliceOut(BaseModel):
    """One slice compared with the rest."""

    keys: dict[str, str]
    n: int
    share: float | None
    value: float | None
    rest_value: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    effect: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool
    worse: bool
    impact: float | None
    explained_share: float | None
    test: str
    tested: bool
    """False: too small to test (under the minimum size), listed rather than left out."""
    rank: int | None
    explained_by: dict[str, str] | None = None
    """Discovery: the reported two-key slice this one is folded under."""

    @classmethod
    def from_result(cls, r: SliceResult) -> SliceOut:
        """Map an analysis result (NaN → null)."""
        return cls.model_validate(_slice_fields(r))


class SegmentReportOut(BaseModel):
    """A ranked segment table; ``unit`` is the unit of analysis, ``value_unit`` the measure."""

    metric: str
    kind: str
    keys: list[str]
    total_n: int
    unit: str
    total_units: int | None
    direction: str
    value_unit: str
    truncated: bool
    data: list[SliceOut]
    nothing_found: str | None = None
    """Why no slice is significantly worse than the rest (null when one is)."""

    @classmethod
    def from_report(cls, r: SegmentReport, min_support: int = 30) -> SegmentReportOut:
        """Map a report."""
        rows = [SliceOut.from_result(x) for x in r.rows]
        return cls(
            metric=r.metric, kind=r.kind, keys=list(r.keys), total_n=r.total_n, unit=r.unit,
            total_units=r.total_units, direction=r.direction, value_unit=r.value_unit,
            truncated=r.truncated, data=rows,
            nothing_found=why_no_worse_slice(r.rows, min_support, r.total_n),
        )  # fmt: skip


def _slice_fields(r: Any) -> Any:
    """A slice result as plain data (``keys``, ``explained_by`` as dicts; NaN → null)."""
    d = {f: getattr(r, f) for f in r.__dataclass_fields__}
    d["keys"] = dict(r.keys)
    d["explained_by"] = None if r.explained_by is None else dict(r.explained_by)
    return clean(d)


def _one_metric(metric: list[str]) -> Any:
    if len(metric) != 1:
        raise InvalidInput("give exactly one metric", [FieldError("metric", "one metric")])
    return parse_metric(metric[0], "metric")


@router.get("/projects/{project}/segments", openapi_extra=ScopeParams.openapi())
async def compare_segments(
    scope: ScopeDep, services: Annotated[Services, Depends(get_services)],
    key: str, metric: ListParam = [],  # noqa: B006
    direction: DirectionParam = None,
    min_support: Annotated[int, Query(ge=1)] = 30,
    q: Annotated[float, Query(gt=0, lt=1)] = 0.05, unit: UnitParam = "trace",
) -> SegmentReportOut:  # fmt: skip
    """Compare each value of ``key`` with the other values on one metric, per ``unit``."""
    report = await services.segments.compare_key(
        scope, _one_metric(metric), key, direction=direction, min_support=min_support, q=q,
        unit=unit,
    )  # fmt: skip
    return SegmentReportOut.from_report(report, min_support)


@router.get("/projects/{project}/segments/discover", openapi_extra=ScopeParams.openapi())
async def discover_segments(
    scope: ScopeDep, services: Annotated[Services, Depends(get_services)],
    key: ListParam = [], metric: ListParam = [],  # noqa: B006
    direction: DirectionParam = None,
    min_support: Annotated[int, Query(ge=1)] = 30, k: Annotated[int, Query(ge=1, le=200)] = 20,
    unit: UnitParam = "trace",
) -> SegmentReportOut:  # fmt: skip
    """The slices (one key or a pair) that are significantly worst on a rate or a mean."""
    report = await services.segments.discover(
        scope, _one_metric(metric), tuple(key), direction=direction, min_support=min_support,
        k=k, unit=unit,
    )  # fmt: skip
    return SegmentReportOut.from_report(report, min_support)


class ChangeOut(BaseModel):
    """One slice, current window against its baseline."""

    keys: dict[str, str]
    n_baseline: int
    n_current: int
    baseline_value: float | None
    current_value: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    effect: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool
    worse: bool
    impact: float | None
    explained_by: dict[str, str] | None
    """The finding this slice is folded under; ``{}`` when that is a shift of all traffic."""
    rank: int | None
    status: str
    """reported, folded, global (``keys`` is ``{}``), improved, not_significant, too_small."""


class ChangeReportOut(BaseModel):
    """What changed between two windows."""

    metric: str
    kind: str
    keys: list[str]
    baseline_n: int
    current_n: int
    unit: str
    direction: str
    value_unit: str
    truncated: bool
    affects_all_segments: bool
    """True when the change is one shift of all traffic (the first row, ``status: global``)."""
    data: list[ChangeOut]
    nothing_found: str | None = None
    """Why no slice got significantly worse (null when one did, or all traffic did)."""


@router.get("/projects/{project}/segments/changes", openapi_extra=ScopeParams.openapi())
async def segment_changes(
    scope: ScopeDep, services: Annotated[Services, Depends(get_services)],
    baseline_start: datetime, baseline_end: datetime,
    key: ListParam = [], metric: ListParam = [],  # noqa: B006
    direction: DirectionParam = None,
    min_support: Annotated[int, Query(ge=1)] = 30, k: Annotated[int, Query(ge=1, le=200)] = 20,
    unit: UnitParam = "trace",
) -> ChangeReportOut:  # fmt: skip
    """Slices whose metric got worse from the baseline window to ``start``..``end``."""
    report = await services.segments.changes(
        scope, time_range(baseline_start, baseline_end), _one_metric(metric), tuple(key),
        direction=direction, min_support=min_support, k=k, unit=unit,
    )  # fmt: skip
    rows = [ChangeOut.model_validate(_slice_fields(r)) for r in report.rows]
    return ChangeReportOut(
        metric=report.metric, kind=report.kind, keys=list(report.keys),
        baseline_n=report.baseline_n, current_n=report.current_n, unit=report.unit,
        direction=report.direction, value_unit=report.value_unit, truncated=report.truncated,
        affects_all_segments=any(r.status == "global" for r in report.rows), data=rows,
        nothing_found=why_no_change(report.rows, min_support),
    )  # fmt: skip


class FairnessOut(BaseModel):
    """Parity of a rate across the groups of a key."""

    metric: str
    key: str
    parity_difference: float | None
    parity_ratio: float | None
    most_favoured: str | None
    threshold: float
    min_support: int
    unit: str
    direction: str
    groups: list[dict[str, Any]]


@router.get(
    "/projects/{project}/fairness", response_model=FairnessOut, openapi_extra=ScopeParams.openapi()
)
async def fairness(
    scope: ScopeDep, services: Annotated[Services, Depends(get_services)],
    key: str, metric: ListParam = [],  # noqa: B006
    min_support: Annotated[int, Query(ge=1)] = 30,
    threshold: Annotated[float, Query(gt=0, le=1)] = 0.8,
    format: Literal["json", "csv"] = "json", unit: UnitParam = "trace",
    direction: DirectionParam = None,
) -> Any:  # fmt: skip
    """Per-group rates with Wilson CIs, the four-fifths rule on the favourable outcome.

    Each group passes, fails or is inconclusive by the confidence interval of its impact ratio.
    """
    m = _one_metric(metric)
    report = await services.segments.fairness(
        scope, m, key, min_support=min_support, threshold=threshold, unit=unit,
        direction=direction,
    )  # fmt: skip
    if format == "csv":
        return Response(report.to_csv(), media_type="text/csv")
    rows = clean(report.to_rows())
    return FairnessOut(
        metric=m.name, key=key, parity_difference=clean(report.parity_difference),
        parity_ratio=clean(report.parity_ratio), most_favoured=report.most_favoured,
        threshold=report.threshold, min_support=report.min_support, unit=unit,
        direction=report.direction, groups=rows,
    )  # fmt: skip


class ComparisonOut(BaseModel):
    """Candidate against baseline: a verdict per metric and an overall signal.

    ``window_start``/``window_end`` is the time compared: by default the period when both
    versions were live (``windowed``); ``unit`` the unit of analysis.
    """

    key: str
    baseline: str
    candidate: str
    signal: str
    unit: str | None
    windowed: bool
    window_start: datetime | None
    window_end: datetime | None
    metrics: list[dict[str, Any]]


@router.get("/projects/{project}/compare", openapi_extra=ScopeParams.openapi())
async def compare(
    scope: ScopeDep, services: Annotated[Services, Depends(get_services)],
    baseline: str, candidate: str, key: str = "version",
    metric: ListParam = [], guard_rail: ListParam = [],  # noqa: B006
    min_support: Annotated[int, Query(ge=1)] = 30, unit: UnitParam = "trace",
    overlap: bool = True,
) -> ComparisonOut:  # fmt: skip
    """Compare two values of ``key`` (default ``version``): promote or hold.

    With ``overlap`` (default) only the time both values were live is compared.
    """
    specs = parse_metrics(metric or list(DEFAULT_GUARD_RAILS))
    report = await services.segments.compare_versions(
        scope, key, baseline, candidate, specs,
        guard_rails=tuple(guard_rail) or None, min_support=min_support, unit=unit,
        overlap=overlap,
    )  # fmt: skip
    return ComparisonOut(
        key=key, baseline=baseline, candidate=candidate, signal=report.signal,
        unit=report.unit, windowed=report.windowed, window_start=report.window_start,
        window_end=report.window_end, metrics=clean(report.to_rows()),
    )  # fmt: skip
