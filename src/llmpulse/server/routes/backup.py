"""``POST /api/v1/admin/backup``: a consistent copy of the data directory while ingesting.

The server writes backups only into its backup directory (``--backup-dir``), under a plain
name: a request can never make it write anywhere else on its machine.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from llmpulse.domain.errors import Conflict, FieldError, InvalidInput
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services
from llmpulse.store.backup import backup_data_dir, default_backup_dir

router = APIRouter(tags=["admin"])


class BackupIn(BaseModel):
    """The name of the backup inside the server's backup directory."""

    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="A new name (letters, digits, `.`, `_`, `-`); default: the UTC time.",
    )


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
    now = services.clock.now()
    root = services.settings.backup_dir or default_backup_dir(source)
    target = root / (body.name or now.strftime("%Y%m%dT%H%M%SZ"))
    if target.exists():
        raise InvalidInput(
            f"a backup named {target.name!r} exists already in {root}",
            [FieldError("name", "pick a new name")],
        )
    report = await asyncio.to_thread(backup_data_dir, services.events, source, target, now)
    return BackupOut(
        target=report.target, spans=report.spans, bytes=report.bytes, created_at=report.created_at
    )
