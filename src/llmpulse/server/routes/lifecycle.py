"""Project lifecycle: delete a project, set its retention, run retention now.

``DELETE /api/v1/projects/{project}`` removes the project with all its spans, annotations and
state; other projects keep ingesting meanwhile. ``GET``/``PUT
/api/v1/projects/{project}/retention`` read and set how many days of spans the project keeps
(``{"days": null}`` keeps everything) with the last retention run; the server runs retention
every ``LLMPULSE_RETENTION_INTERVAL_S`` seconds, and ``POST /api/v1/admin/retention/run`` runs
a round at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from llmpulse.domain.ids import ProjectName
from llmpulse.governance.lifecycle import MAX_DAYS, Retention, RetentionRun
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["projects"])


class ProjectDeleted(BaseModel):
    """What deleting a project removed."""

    project: str
    spans_deleted: int


class RetentionIn(BaseModel):
    """How many days of spans a project keeps; null keeps everything."""

    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(ge=1, le=MAX_DAYS)


class RetentionRunOut(BaseModel):
    """One retention run of a project."""

    ran_at: datetime
    cutoff: datetime
    spans_dropped: int
    error: str | None

    @classmethod
    def from_domain(cls, r: RetentionRun) -> RetentionRunOut:
        """Map a run."""
        return cls(ran_at=r.ran_at, cutoff=r.cutoff, spans_dropped=r.spans_dropped, error=r.error)


class RetentionOut(BaseModel):
    """A project's retention policy and its last run (null before the first)."""

    project: str
    days: int | None
    last_run: RetentionRunOut | None

    @classmethod
    def from_domain(cls, r: Retention) -> RetentionOut:
        """Map a policy."""
        last = RetentionRunOut.from_domain(r.last_run) if r.last_run else None
        return cls(project=r.project, days=r.days, last_run=last)


class RetentionRound(BaseModel):
    """What one retention round did, per project with a policy."""

    runs: dict[str, RetentionRunOut]


@router.delete("/projects/{project}")
async def delete_project(
    project: str, services: Annotated[Services, Depends(get_services)]
) -> ProjectDeleted:
    """Delete a project: all its spans, annotations, saved cohorts and settings."""
    n = await services.lifecycle.delete_project(ProjectName(project))
    return ProjectDeleted(project=project, spans_deleted=n)


@router.get("/projects/{project}/retention")
async def get_retention(
    project: str, services: Annotated[Services, Depends(get_services)]
) -> RetentionOut:
    """A project's retention (days of spans kept) and its last run."""
    return RetentionOut.from_domain(await services.lifecycle.retention(ProjectName(project)))


@router.put("/projects/{project}/retention")
async def put_retention(
    project: str, body: RetentionIn, services: Annotated[Services, Depends(get_services)]
) -> RetentionOut:
    """Set how many days of spans a project keeps (null: keep everything)."""
    r = await services.lifecycle.set_retention(ProjectName(project), body.days)
    return RetentionOut.from_domain(r)


@router.post("/admin/retention/run")
async def run_retention(services: Annotated[Services, Depends(get_services)]) -> RetentionRound:
    """Run one retention round now (the server also runs one every interval)."""
    runs = await services.lifecycle.tick(services.clock.now())
    return RetentionRound(runs={p: RetentionRunOut.from_domain(r) for p, r in runs.items()})
