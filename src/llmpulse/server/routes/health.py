"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    """Server health."""

    status: str
    queued_spans: int
    spans_written: int
    inflight_bytes: int


@router.get("/healthz")
async def healthz(services: Annotated[Services, Depends(get_services)]) -> HealthOut:
    """Answer 200 while the server runs; shows the writer's backlog and body bytes in flight."""
    w = services.writer.stats
    return HealthOut(
        status="ok",
        queued_spans=w.queued_spans,
        spans_written=w.spans_written,
        inflight_bytes=services.budget.in_flight,
    )
