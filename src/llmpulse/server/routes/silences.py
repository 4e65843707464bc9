"""Silences: ``/api/v1/projects/{project}/silences`` (list by state, create),
``.../silences/{name}`` (read) and ``.../silences/{name}/expire`` (end it now).

A silence mutes the project's alerts whose labels match all of its matchers while it is
active (``starts_at`` ≤ now < ``ends_at``). Create with ``ends_at`` or ``duration``;
``starts_at`` defaults to now, ``created_by`` to the caller's key (or ``cli``/``ui``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, BaseModel, Field

from llmpulse.alerts.silences import SilenceState
from llmpulse.config.silence_service import (
    SilenceView,
    create_silence,
    expire_silence,
    get_silence,
    list_silences,
)
from llmpulse.domain.ids import check_project_name
from llmpulse.server.deps import get_services
from llmpulse.server.routes.config_models import CONFLICT, actor_of
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["silences"])
Svc = Annotated[Services, Depends(get_services)]
Project = Annotated[str, AfterValidator(check_project_name)]


class SilenceIn(BaseModel):
    """A new silence."""

    name: str | None = Field(default=None, description="Default: a generated s-<hex> name")
    matchers: list[str] = Field(min_length=1, max_length=50, description='e.g. monitor="x"')
    starts_at: datetime | None = Field(default=None, description="Default: now")
    ends_at: datetime | None = None
    duration: str | None = Field(default=None, description="e.g. 2h; instead of ends_at")
    created_by: str | None = None
    comment: str = Field(default="", max_length=2000)


class SilenceOut(BaseModel):
    """A silence and its state now."""

    name: str
    project: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str

    @classmethod
    def of(cls, v: SilenceView) -> SilenceOut:
        """Map a view."""
        s = v.silence
        return cls(
            name=s.id, project=v.project, matchers=[str(m) for m in s.matchers],
            starts_at=s.starts_at, ends_at=s.ends_at, created_by=s.created_by,
            comment=s.comment, state=v.state.value,
        )  # fmt: skip


class SilenceList(BaseModel):
    """Silences, latest ending first."""

    data: list[SilenceOut]


@router.get("/projects/{project}/silences")
async def silences(
    project: str,
    services: Svc,
    state: Annotated[
        Literal["active", "pending", "expired", "all"], Query(description="Which silences")
    ] = "all",
) -> SilenceList:
    """The project's silences, of one state or all."""
    want = None if state == "all" else SilenceState(state)
    found = await list_silences(services.config, project, want)
    return SilenceList(data=[SilenceOut.of(v) for v in found])


@router.post("/projects/{project}/silences", status_code=201, responses=CONFLICT)
async def add_silence(
    project: Project, body: SilenceIn, request: Request, services: Svc
) -> SilenceOut:
    """Create a silence; 400 names the bad field (``spec.matchers[0]``, ``spec.ends_at``)."""
    spec = body.model_dump(exclude={"name"}, exclude_none=True, mode="json")
    view = await create_silence(services.config, project, spec, actor_of(request), body.name)
    return SilenceOut.of(view)


@router.get("/projects/{project}/silences/{name}")
async def silence(project: str, name: str, services: Svc) -> SilenceOut:
    """One silence."""
    return SilenceOut.of(await get_silence(services.config, project, name))


@router.post("/projects/{project}/silences/{name}/expire", responses=CONFLICT)
async def expire(project: str, name: str, request: Request, services: Svc) -> SilenceOut:
    """End a silence now (409 when it has expired already)."""
    view = await expire_silence(services.config, project, name, actor_of(request))
    return SilenceOut.of(view)
