"""Prices: the model price table in force, its API overrides, and unpriced models.

``GET /api/v1/prices`` shows the shipped table, the YAML file's table and the overrides;
``PUT /api/v1/prices`` replaces the overrides (a PriceTable; new spans are priced with it);
``DELETE /api/v1/prices`` drops them. ``GET /api/v1/projects/{project}/unpriced-models`` lists
models whose spans carry tokens but could not be priced (never silently zero).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.specs import PriceTable
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["prices"])


class PricesOut(BaseModel):
    """The layered price tables, lowest precedence first."""

    shipped: PriceTable
    file: PriceTable | None
    overrides: PriceTable | None


class UnpricedModel(BaseModel):
    """A model with tokens but no price."""

    model: str
    spans: int


class UnpricedOut(BaseModel):
    """Unpriced models of one project, most spans first."""

    data: list[UnpricedModel]


def _out(services: Services) -> PricesOut:
    p = services.ingest.prices
    return PricesOut(shipped=p.shipped, file=p.file_table, overrides=p.overrides)


@router.get("/prices")
async def get_prices(services: Annotated[Services, Depends(get_services)]) -> PricesOut:
    """The price tables in force."""
    return _out(services)


@router.put("/prices")
async def put_prices(
    body: PriceTable, services: Annotated[Services, Depends(get_services)]
) -> PricesOut:
    """Replace the API overrides; spans ingested from now on are priced with them."""
    services.ingest.prices.set_overrides(body, services.clock.now())
    return _out(services)


@router.delete("/prices")
async def delete_prices(services: Annotated[Services, Depends(get_services)]) -> PricesOut:
    """Drop the API overrides."""
    services.ingest.prices.clear_overrides()
    return _out(services)


@router.get("/projects/{project}/unpriced-models")
async def unpriced_models(
    project: str, services: Annotated[Services, Depends(get_services)]
) -> UnpricedOut:
    """Models whose spans have tokens but no cost."""
    await services.query.require_project(ProjectName(project))
    found = await services.query.unpriced_models(ProjectName(project))
    return UnpricedOut(data=[UnpricedModel(model=m, spans=n) for m, n in found.items()])
