"""Projects: ``GET /api/v1/projects``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from llmpulse.governance.sessions import sees
from llmpulse.query.service import ProjectSummary
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["projects"])


class ProjectOut(BaseModel):
    """A project with its counts."""

    name: str
    description: str
    num_spans: int
    num_traces: int
    first_seen: datetime | None
    last_seen: datetime | None

    @classmethod
    def from_domain(cls, p: ProjectSummary) -> ProjectOut:
        """Map a project summary."""
        return cls.model_validate(
            {
                "name": p.name,
                "description": p.description,
                "num_spans": p.num_spans,
                "num_traces": p.num_traces,
                "first_seen": p.first_seen,
                "last_seen": p.last_seen,
            }
        )


class ProjectList(BaseModel):
    """Every project."""

    data: list[ProjectOut]


@router.get("/projects")
async def list_projects(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> ProjectList:
    """List projects with span and trace counts and first/last seen (a project key's only)."""
    projects = [p for p in await services.query.list_projects() if sees(request, p.name)]
    return ProjectList(data=[ProjectOut.from_domain(p) for p in projects])
