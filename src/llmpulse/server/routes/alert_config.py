"""Alert routing as configuration: a project's routing tree and the receivers.

``GET|PUT|DELETE /api/v1/projects/{project}/route`` (the ``kind: AlertRoute`` manifest; one
tree per project, named ``default``), ``GET|POST /api/v1/receivers``,
``GET|PUT|DELETE /api/v1/receivers/{name}`` (``kind: Receiver``; secrets only as environment
references) and ``POST /api/v1/receivers/{name}/test``, which sends a test notification
through the real notifier and reports what the service answered.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel

from llmpulse.config.route_kind import ROUTE_NAME
from llmpulse.domain.ids import check_project_name
from llmpulse.server.deps import get_services
from llmpulse.server.routes.config_models import (
    CONFLICT,
    ManifestIn,
    ManifestList,
    ManifestOut,
    actor_of,
)
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["alert routing"])
Svc = Annotated[Services, Depends(get_services)]
Project = Annotated[str, AfterValidator(check_project_name)]


@router.get("/projects/{project}/route")
async def get_route(project: str, services: Svc) -> ManifestOut:
    """The project's routing tree (404 when it has none)."""
    return ManifestOut.of(await services.config.get("AlertRoute", project, ROUTE_NAME))


@router.put("/projects/{project}/route", responses=CONFLICT)
async def put_route(
    project: Project, body: ManifestIn, request: Request, services: Svc
) -> ManifestOut:
    """Create or replace the project's routing tree (every receiver it names must exist)."""
    doc = body.document("AlertRoute", project, ROUTE_NAME)
    plan = await services.config.put(doc, actor_of(request))
    return ManifestOut.of(plan.changes[0].after)  # type: ignore[arg-type]


@router.delete("/projects/{project}/route", status_code=204, responses=CONFLICT)
async def delete_route(project: str, request: Request, services: Svc) -> None:
    """Delete the project's routing tree."""
    await services.config.delete("AlertRoute", project, ROUTE_NAME, actor_of(request))


@router.get("/receivers")
async def list_receivers(services: Svc) -> ManifestList:
    """Every receiver, by name."""
    found = await services.config.objects("Receiver")
    return ManifestList(data=[ManifestOut.of(r) for r in found])


@router.post("/receivers", status_code=201, responses=CONFLICT)
async def create_receiver(body: ManifestIn, request: Request, services: Svc) -> ManifestOut:
    """Create a receiver (409 when the name is taken)."""
    doc = body.document("Receiver", None, None)
    plan = await services.config.put(doc, actor_of(request), create_only=True)
    return ManifestOut.of(plan.changes[0].after)  # type: ignore[arg-type]


@router.get("/receivers/{name}")
async def get_receiver(name: str, services: Svc) -> ManifestOut:
    """One receiver."""
    return ManifestOut.of(await services.config.get("Receiver", "", name))


@router.put("/receivers/{name}", responses=CONFLICT)
async def put_receiver(name: str, body: ManifestIn, request: Request, services: Svc) -> ManifestOut:
    """Create or replace a receiver."""
    plan = await services.config.put(body.document("Receiver", None, name), actor_of(request))
    return ManifestOut.of(plan.changes[0].after)  # type: ignore[arg-type]


@router.delete("/receivers/{name}", status_code=204, responses=CONFLICT)
async def delete_receiver(name: str, request: Request, services: Svc) -> None:
    """Delete a receiver (409 while a project's route names it)."""
    await services.config.delete("Receiver", "", name, actor_of(request))


class DeliveryOut(BaseModel):
    """What the receiving service answered to a test notification."""

    receiver: str
    ok: bool
    retryable: bool
    detail: str
    attempts: int


@router.post(
    "/receivers/{name}/test",
    responses={400: {"description": "A secret's environment variable is not set on the server"}},
)
async def test_receiver(name: str, services: Svc) -> DeliveryOut:
    """Send a test notification now (one attempt); ``ok`` says whether it was accepted."""
    d = await services.config.test_receiver(name)
    return DeliveryOut(
        receiver=name, ok=d.ok, retryable=d.retryable, detail=d.detail, attempts=d.attempts
    )
