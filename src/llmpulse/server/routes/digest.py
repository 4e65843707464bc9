"""``GET /api/v1/projects/{project}/digest``: the project's daily or weekly health digest.

The same digest the receivers get (`llmpulse.slos.digest`): SLO status and budget spent,
incidents, worst segments by error rate, requests and cost, as JSON with its text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from llmpulse.domain.ids import ProjectName
from llmpulse.query.filters import as_utc
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services
from llmpulse.slos.digest import build_digest, digest_text
from llmpulse.slos.report import finite

router = APIRouter(prefix="/api/v1", tags=["slos"])


class DigestSloOut(BaseModel):
    """One SLO in the digest."""

    name: str
    status: str
    sli: float | None
    objective: float
    budget_remaining: float | None
    budget_spent: float | None
    pages: int
    tickets: int
    incidents: int


class SegmentOut(BaseModel):
    """A segment value with its error rate."""

    key: str
    value: str
    error_rate: float
    requests: int


class DigestOut(BaseModel):
    """A project's digest over ``[start, end)``, and the text the receivers get."""

    project: str
    start: datetime
    end: datetime
    requests: int
    cost_usd: float | None
    slos: list[DigestSloOut]
    worst_segments: list[SegmentOut]
    text: str


@router.get("/projects/{project}/digest")
async def digest(
    project: str,
    services: Annotated[Services, Depends(get_services)],
    period: Literal["day", "week"] = "day",
    end: Annotated[datetime | None, Query()] = None,
) -> DigestOut:
    """The digest of the day (or week) ending at ``end`` (default now)."""
    await services.query.require_project(ProjectName(project))
    at = as_utc(end) or services.clock.now()
    d = await build_digest(services.slos, services.query, project, at, period)
    return DigestOut(
        project=d.project, start=d.start, end=d.end, requests=d.requests,
        cost_usd=None if d.cost_usd is None else finite(d.cost_usd),
        slos=[DigestSloOut(name=s.name, status=s.status, sli=finite(s.sli),
                           objective=s.objective, budget_remaining=finite(s.budget_remaining),
                           budget_spent=finite(s.budget_spent), pages=s.pages,
                           tickets=s.tickets, incidents=len(s.incidents)) for s in d.slos],
        worst_segments=[SegmentOut(key=g.key, value=g.value, error_rate=g.error_rate,
                                   requests=g.requests) for g in d.worst_segments],
        text=digest_text(d),
    )  # fmt: skip
