"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from llmpulse.server.connections import ConnectionStats
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(tags=["health"])


class ConnectionsOut(BaseModel):
    """Connections the HTTP limits closed since start (docs/reference/limits.md)."""

    header_timeouts: int
    body_timeouts: int
    evicted_idle: int
    refused: int


class HealthOut(BaseModel):
    """Server health."""

    status: str
    queued_spans: int
    spans_written: int
    inflight_bytes: int
    connections: ConnectionsOut | None = None


@router.get("/healthz")
async def healthz(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> HealthOut:
    """Answer 200 while the server runs; shows the backlog, body bytes in flight and the
    connections closed by the limits (when served by ``llmpulse serve``)."""
    w = services.writer.stats
    conns: ConnectionStats | None = getattr(request.app.state, "connection_stats", None)
    return HealthOut(
        status="ok",
        queued_spans=w.queued_spans,
        spans_written=w.spans_written,
        inflight_bytes=services.budget.in_flight,
        connections=None
        if conns is None
        else ConnectionsOut(
            header_timeouts=conns.header_timeouts,
            body_timeouts=conns.body_timeouts,
            evicted_idle=conns.evicted_idle,
            refused=conns.refused,
        ),
    )
