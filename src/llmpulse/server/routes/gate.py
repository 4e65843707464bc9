"""``GET /api/v1/projects/{project}/gate``: pass or fail a version for a rollout (issue 11).

``version`` is the candidate; ``baseline`` defaults to the busiest other version in the
window; the window is ``window`` back from now (default 24h) or ``start``/``end``. The answer
says ``passed`` with the guard-rail verdicts, the SLO checks and the reasons to hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.query.filters import as_utc
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services
from llmpulse.slos.gate import GUARD_RAILS, run_gate
from llmpulse.slos.report import finite

router = APIRouter(prefix="/api/v1", tags=["slos"])


class GuardRailOut(BaseModel):
    """One guard-rail metric, candidate against baseline."""

    metric: str
    verdict: str
    baseline_value: float | None
    candidate_value: float | None
    p_value: float | None
    test: str


class SloCheckOut(BaseModel):
    """The candidate's SLI over the window against an SLO (passed null: too few events)."""

    name: str
    objective: float
    sli: float | None
    valid: float
    passed: bool | None


class GateOut(BaseModel):
    """The gate's decision."""

    passed: bool
    version: str
    baseline: str
    start: datetime
    end: datetime
    window_start: datetime | None
    window_end: datetime | None
    guard_rails: list[GuardRailOut]
    slos: list[SloCheckOut]
    reasons: list[str]


@router.get("/projects/{project}/gate")
async def gate(
    project: str,
    version: str,
    services: Annotated[Services, Depends(get_services)],
    baseline: str | None = None,
    window: str = "24h",
    start: Annotated[datetime | None, Query()] = None,
    end: Annotated[datetime | None, Query()] = None,
    guard_rail: Annotated[list[str] | None, Query()] = None,
    slo: Annotated[list[str] | None, Query()] = None,
) -> GateOut:
    """Pass or fail ``version`` from guard-rail metrics and SLOs over the window."""
    await services.query.require_project(ProjectName(project))
    now = services.clock.now()
    e = as_utc(end) or now
    s = as_utc(start) or e - parse_duration(window, "window", unit_required=True)
    if e <= s:
        raise InvalidInput("end is before start", [FieldError("end", "must be after start")])
    r = await run_gate(
        services.segments, services.query, services.slos, project, version, s, e,
        baseline=baseline, guard_rails=tuple(guard_rail or GUARD_RAILS),
        slo_names=tuple(slo) if slo else None,
    )  # fmt: skip
    return GateOut(
        passed=r.passed, version=r.version, baseline=r.baseline, start=r.start, end=r.end,
        window_start=r.comparison.window_start, window_end=r.comparison.window_end,
        guard_rails=[
            GuardRailOut(metric=v.name, verdict=v.verdict,
                         baseline_value=finite(v.baseline_value),
                         candidate_value=finite(v.candidate_value), p_value=finite(v.p_value),
                         test=v.test)
            for v in r.comparison.metrics
        ],
        slos=[SloCheckOut(name=c.name, objective=c.objective, sli=finite(c.sli), valid=c.valid,
                          passed=c.passed) for c in r.slos],
        reasons=r.reasons,
    )  # fmt: skip
