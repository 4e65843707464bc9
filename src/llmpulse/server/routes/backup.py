"""``POST /api/v1/admin/backup``: a consistent copy of the data directory while ingesting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from llmpulse.domain.errors import Conflict
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services
from llmpulse.store.backup import backup_data_dir

router = APIRouter(tags=["admin"])


class BackupIn(BaseModel):
    """Where the server writes the backup (a path on the server's machine)."""

    target: str = Field(min_length=1, description="A new or empty directory.")


class BackupOut(BaseModel):
    """What the backup holds."""

    target: str
    spans: int
    bytes: int
    created_at: str


@router.post(
    "/api/v1/admin/backup",
    responses={
        400: {"description": "The target is not a new or empty directory"},
        409: {"description": "The server keeps its data in memory"},
    },
)
async def create_backup(
    body: BackupIn, services: Annotated[Services, Depends(get_services)]
) -> BackupOut:
    """Copy the data directory as of one snapshot; ingest continues meanwhile."""
    source = services.settings.data_dir
    if source is None:
        raise Conflict("this server keeps its data in memory: there is nothing to back up")
    report = await asyncio.to_thread(
        backup_data_dir, services.events, source, Path(body.target), services.clock.now()
    )
    return BackupOut(
        target=report.target, spans=report.spans, bytes=report.bytes, created_at=report.created_at
    )
