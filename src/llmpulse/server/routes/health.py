"""Liveness (``/healthz``) and readiness (``/readyz``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from llmpulse.server.connections import ConnectionStats
from llmpulse.server.deps import get_services
from llmpulse.server.readiness import check_readiness
from llmpulse.server.services import Services

router = APIRouter(tags=["health"])
NOT_READY_RETRY_AFTER_S = 5


class ConnectionsOut(BaseModel):
    """Connections the HTTP limits closed since start (docs/reference/limits.md)."""

    header_timeouts: int
    body_timeouts: int
    evicted_idle: int
    refused: int


class SchedulerOut(BaseModel):
    """The monitor scheduler: cycles run, their duration and lag, notifications."""

    running: bool
    cycles: int
    failures: int
    evaluations: int
    transitions: int
    queries: int
    skipped_instants: int = Field(description="Missed instants past the catch-up bound.")
    last_tick_at: str | None
    last_duration_s: float
    lag_s: float = Field(description="Due instant to end of its evaluation, last tick.")
    last_error: str
    notifications_sent: int
    notifications_failed: int


class HealthOut(BaseModel):
    """Server health."""

    status: str = Field(description="`ok`, or `degraded` when /readyz would answer 503.")
    queued_spans: int
    spans_written: int
    reasons: list[str] = Field(default_factory=list, description="Why it is degraded.")
    inflight_bytes: int
    connections: ConnectionsOut | None = None
    scheduler: SchedulerOut | None = Field(None, description="The monitor scheduler's health.")


class ReadyOut(BaseModel):
    """Whether the server can ingest and answer queries now, and why not."""

    ready: bool
    reasons: list[str] = Field(description="What keeps it from being ready (empty when ready).")
    warnings: list[str] = Field(
        description="What an operator should know although it is ready (e.g. what replaying "
        "a damaged write-ahead log at start recovered and lost)."
    )
    disk_free_bytes: int | None = Field(description="Free bytes on the data directory's disk.")
    decode_workers_alive: int = Field(description="Live decode worker processes (0: threads).")
    queued_spans: int
    spans_written: int


@router.get("/healthz")
async def healthz(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> HealthOut:
    """Liveness: 200 while the process runs; ``status`` says whether it is also ready. Shows
    the backlog, body bytes in flight and the connections closed by the limits (when served
    by ``llmpulse serve``)."""
    w = services.writer.stats
    conns: ConnectionStats | None = getattr(request.app.state, "connection_stats", None)
    readiness = await check_readiness(services, probe_store=False)
    return HealthOut(
        status="ok" if readiness.ready else "degraded",
        queued_spans=w.queued_spans,
        spans_written=w.spans_written,
        reasons=readiness.reasons,
        inflight_bytes=services.budget.in_flight,
        connections=None
        if conns is None
        else ConnectionsOut(
            header_timeouts=conns.header_timeouts,
            body_timeouts=conns.body_timeouts,
            evicted_idle=conns.evicted_idle,
            refused=conns.refused,
        ),
        scheduler=_scheduler(services),
    )


def _scheduler(services: Services) -> SchedulerOut:
    runtime = services.runtime
    counters = runtime.dispatcher.counters
    return SchedulerOut.model_validate(
        {
            **runtime.scheduler.status.as_dict(),
            "running": runtime.enabled,
            "notifications_sent": counters.sent,
            "notifications_failed": counters.failed,
        }
    )


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready; the reasons say why"}},
)
async def readyz(services: Annotated[Services, Depends(get_services)]) -> JSONResponse:
    """Readiness: 200 when the server can ingest and answer queries, else 503 with reasons."""
    readiness = await check_readiness(services)
    w = services.writer.stats
    body = ReadyOut(
        ready=readiness.ready,
        reasons=readiness.reasons,
        warnings=readiness.warnings,
        disk_free_bytes=readiness.disk_free_bytes,
        decode_workers_alive=readiness.decode_workers_alive,
        queued_spans=w.queued_spans,
        spans_written=w.spans_written,
    )
    if readiness.ready:
        return JSONResponse(body.model_dump())
    headers = {"Retry-After": str(NOT_READY_RETRY_AFTER_S)}
    return JSONResponse(body.model_dump(), status_code=503, headers=headers)
