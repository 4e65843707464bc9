"""API keys over REST (an all-projects ``admin`` key is needed, like every change).

``GET /api/v1/keys`` lists keys (never tokens), ``POST /api/v1/keys`` creates one and
answers its token once (201), ``DELETE /api/v1/keys/{key_id}`` revokes one. The first key
comes from ``llmpulse keys create`` on the data directory, since none exists to call these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from llmpulse.domain.keys import ApiKeyRecord, Scope
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["keys"])


class KeyIn(BaseModel):
    """A key to create."""

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)
    project: str | None = Field(None, min_length=1, max_length=200)


class KeyOut(BaseModel):
    """A key as listed: never its token or hash."""

    key_id: str
    name: str
    scopes: list[Scope]
    project: str | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, r: ApiKeyRecord) -> KeyOut:
        """Map a stored key."""
        return cls(
            key_id=r.key_id, name=r.name, scopes=sorted(r.scopes), project=r.project,
            created_at=r.created_at, revoked_at=r.revoked_at,
        )  # fmt: skip


class CreatedKeyOut(KeyOut):
    """A new key with its token, shown this once."""

    token: str


class KeyList(BaseModel):
    """Every key, revoked ones too."""

    data: list[KeyOut]


@router.get("/keys")
async def list_keys(services: Annotated[Services, Depends(get_services)]) -> KeyList:
    """Every API key (ids, names, scopes, projects; never tokens)."""
    return KeyList(data=[KeyOut.from_domain(r) for r in services.keys.list()])


@router.post("/keys", status_code=201)
async def create_key(
    body: KeyIn, services: Annotated[Services, Depends(get_services)]
) -> CreatedKeyOut:
    """Create a key; the answer carries its token, which is not shown again."""
    created = services.keys.create(body.name, frozenset(body.scopes), body.project)
    out = KeyOut.from_domain(created.record)
    return CreatedKeyOut(**out.model_dump(), token=created.token)


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, services: Annotated[Services, Depends(get_services)]) -> KeyOut:
    """Revoke a key at once; its UI sessions end too."""
    return KeyOut.from_domain(services.keys.revoke(key_id))
