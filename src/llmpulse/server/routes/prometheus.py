"""``GET /metrics``: the Prometheus text exposition (SLOs and ingest health).

A read route like any other (``read`` scope once API keys exist); point Prometheus at it
with an ``authorization`` header (``bearer_token`` in the scrape config).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from llmpulse.server.deps import get_services
from llmpulse.server.exposition import CONTENT_TYPE
from llmpulse.server.services import Services

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(services: Annotated[Services, Depends(get_services)]) -> Response:
    """SLI, objective, budget remaining and burn rates per SLO; ingest health."""
    body = await services.exposition.render(services.clock.now())
    return Response(body, media_type=CONTENT_TYPE)
