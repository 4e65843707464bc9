"""Monitors as configuration: ``/api/v1/projects/{project}/monitors[/{name}]``.

Bodies and answers are ``kind: Monitor`` manifests (`llmpulse.monitors.spec`); ``POST``
creates (409 when the name is taken), ``PUT`` creates or replaces, ``DELETE`` removes. Every
change is written to the audit log (``GET /api/v1/audit``). The list also shows the monitors
the scheduler runs from ``LLMPULSE_MONITORS_FILE`` and the demo's defaults, marked
``read_only`` with their ``source`` (a stored monitor of the same name overrides one).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, Field

from llmpulse.config.monitor_kind import resource_of
from llmpulse.domain.ids import check_project_name
from llmpulse.server.deps import get_services
from llmpulse.server.routes.config_models import (
    CONFLICT,
    ManifestIn,
    ManifestOut,
    actor_of,
)
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["monitors"])
Svc = Annotated[Services, Depends(get_services)]
Project = Annotated[str, AfterValidator(check_project_name)]
KIND = "Monitor"


class MonitorOut(ManifestOut):
    """A monitor's manifest and where it is defined."""

    source: str = Field(
        default="stored",
        description="stored (REST, UI, llmpulse apply), file (LLMPULSE_MONITORS_FILE) or demo "
        "(the demo's default monitors)",
    )
    read_only: bool = Field(
        default=False, description="Not editable here: edit the file, or store one of its name"
    )


class MonitorList(BaseModel):
    """A project's monitors: the stored ones by name, then the read-only ones."""

    data: list[MonitorOut]


@router.get("/projects/{project}/monitors")
async def list_monitors(project: str, services: Svc) -> MonitorList:
    """The project's monitors, by name, then those of the monitors file and the demo."""
    found = await services.config.objects(KIND, project)
    out = [MonitorOut.model_validate(r.manifest()) for r in found]
    for spec, source in await services.runtime.local_monitors(project):
        doc = resource_of(spec).manifest()
        out.append(MonitorOut.model_validate({**doc, "source": source, "read_only": True}))
    return MonitorList(data=out)


@router.post("/projects/{project}/monitors", status_code=201, responses=CONFLICT)
async def create_monitor(
    project: Project, body: ManifestIn, request: Request, services: Svc
) -> ManifestOut:
    """Create a monitor (409 when one of that name exists); 400 names the bad field."""
    doc = body.document(KIND, project, None)
    plan = await services.config.put(doc, actor_of(request), create_only=True)
    return ManifestOut.of(plan.changes[0].after)  # type: ignore[arg-type]


@router.get("/projects/{project}/monitors/{name}")
async def get_monitor(project: str, name: str, services: Svc) -> ManifestOut:
    """One monitor."""
    return ManifestOut.of(await services.config.get(KIND, project, name))


@router.put("/projects/{project}/monitors/{name}", responses=CONFLICT)
async def put_monitor(
    project: Project, name: str, body: ManifestIn, request: Request, services: Svc
) -> ManifestOut:
    """Create or replace a monitor."""
    plan = await services.config.put(body.document(KIND, project, name), actor_of(request))
    return ManifestOut.of(plan.changes[0].after)  # type: ignore[arg-type]


@router.delete("/projects/{project}/monitors/{name}", status_code=204, responses=CONFLICT)
async def delete_monitor(project: str, name: str, request: Request, services: Svc) -> None:
    """Delete a monitor."""
    await services.config.delete(KIND, project, name, actor_of(request))
