"""Configuration as code over REST: ``POST /api/v1/apply``, ``GET /api/v1/export`` and the
audit log ``GET /api/v1/audit``.

``apply`` takes the manifests of a multi-document YAML file (as a JSON list), validates all
of them (errors name ``documents[i].<field>``), and returns the plan: per object ``create``,
``update`` (with the changed fields), ``unchanged``, or with ``prune`` ``delete`` (objects of
the applied kinds and projects that the list leaves out). ``dry_run`` stops at the plan;
otherwise every change is written in one transaction with one audit entry each. ``export``
returns the stored objects as manifests, so apply → export → apply changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from llmpulse.domain.errors import Forbidden
from llmpulse.server.deps import get_services
from llmpulse.server.routes.config_models import CONFLICT, AuditEntryOut, PlanOut, actor_of
from llmpulse.server.security import only_project
from llmpulse.server.services import Services
from llmpulse.store.config_api import AuditQuery

router = APIRouter(prefix="/api/v1", tags=["config as code"])
Svc = Annotated[Services, Depends(get_services)]


class ApplyIn(BaseModel):
    """Manifests to apply."""

    documents: list[dict[str, Any]] = Field(max_length=10_000)
    prune: bool = False
    dry_run: bool = False
    project: str | None = Field(
        default=None, description="The project of SLOs that name none (OpenSLO files)."
    )


class ExportOut(BaseModel):
    """Stored objects as manifests, by kind (monitors, routes, receivers, silences)."""

    documents: list[dict[str, Any]]


class AuditOut(BaseModel):
    """Audit entries, newest first; ``next_before_id`` pages to older ones."""

    data: list[AuditEntryOut]
    next_before_id: int | None


@router.post("/apply", responses=CONFLICT)
async def apply(body: ApplyIn, request: Request, services: Svc) -> PlanOut:
    """Plan the manifests against the stored objects and (unless ``dry_run``) apply them."""
    plan = await services.config.apply(
        body.documents,
        actor_of(request),
        prune=body.prune,
        dry_run=body.dry_run,
        project=body.project,
    )
    return PlanOut.of(plan)


def _own_project(request: Request, project: str | None) -> str | None:
    """``project``, or the key's own project for a project-scoped key (403 for another)."""
    scoped = only_project(request)
    if scoped is None:
        return project
    if project is not None and project != scoped:
        raise Forbidden(f"this API key is for project {scoped!r} only")
    return scoped


@router.get("/export", responses={403: {"description": "Another project than the key's"}})
async def export(
    request: Request,
    services: Svc,
    project: Annotated[str | None, Query(description="One project's objects")] = None,
) -> ExportOut:
    """Every stored object as a manifest (one project's, plus the receivers).

    A project-scoped key exports its own project.
    """
    return ExportOut(documents=await services.config.export(_own_project(request, project)))


@router.get("/audit", responses={403: {"description": "Another project than the key's"}})
async def audit(
    request: Request,
    services: Svc,
    kind: Annotated[str | None, Query(description="Monitor, AlertRoute, ...")] = None,
    project: str | None = None,
    name: str | None = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditOut:
    """Who changed which configuration object when, with the spec before and after.

    A project-scoped key reads its own project's entries only.
    """
    project = _own_project(request, project)
    q = AuditQuery(kind=kind, project=project, name=name, before_id=before_id, limit=limit)
    entries = await services.config.audit(q)
    more = entries[-1].id if len(entries) == limit else None
    return AuditOut(data=[AuditEntryOut.of(e) for e in entries], next_before_id=more)
