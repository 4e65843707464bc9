"""Liveness (``/healthz``) and readiness (``/readyz``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from llmpulse.server.deps import get_services
from llmpulse.server.readiness import check_readiness
from llmpulse.server.services import Services

router = APIRouter(tags=["health"])
NOT_READY_RETRY_AFTER_S = 5


class HealthOut(BaseModel):
    """Server health."""

    status: str = Field(description="`ok`, or `degraded` when /readyz would answer 503.")
    queued_spans: int
    spans_written: int
    reasons: list[str] = Field(default_factory=list, description="Why it is degraded.")


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
async def healthz(services: Annotated[Services, Depends(get_services)]) -> HealthOut:
    """Liveness: 200 while the process runs; ``status`` says whether it is also ready."""
    w = services.writer.stats
    readiness = await check_readiness(services, probe_store=False)
    return HealthOut(
        status="ok" if readiness.ready else "degraded",
        queued_spans=w.queued_spans,
        spans_written=w.spans_written,
        reasons=readiness.reasons,
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
