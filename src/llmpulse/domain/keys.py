"""API keys as facts: scopes, the stored record (never the token) and the caller they make.

A key has one or more scopes; ``admin`` implies ``read`` and ``ingest``. A key is for one
project or, with ``project=None``, for all projects. The token is shown once at creation and
only its SHA-256 is stored (see `llmpulse.governance.keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Scope(StrEnum):
    """What a key may do."""

    INGEST = "ingest"  # OTLP, predictions, annotations
    READ = "read"  # every GET: REST, UI pages
    ADMIN = "admin"  # every change (prices, cohorts, keys, ...); implies the other two


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored key: its lookup id, the token's hash and what it may do."""

    key_id: str
    name: str
    token_sha256: str
    scopes: frozenset[Scope]
    project: str | None
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request runs as: the key behind a Bearer token or a UI session."""

    key_id: str
    name: str
    scopes: frozenset[Scope]
    project: str | None  # None: every project

    def has(self, scope: Scope) -> bool:
        """True when the key holds ``scope`` (``admin`` holds every scope)."""
        return scope in self.scopes or Scope.ADMIN in self.scopes

    def sees(self, project: str) -> bool:
        """True when the key is for ``project`` or for all projects."""
        return self.project is None or self.project == project

    @classmethod
    def of(cls, record: ApiKeyRecord) -> Principal:
        """The principal a stored key makes."""
        return cls(record.key_id, record.name, record.scopes, record.project)


def parse_scopes(values: list[str] | tuple[str, ...]) -> frozenset[Scope]:
    """Scopes from their names (``ingest``, ``read``, ``admin``); comma lists are split.

    Raises:
        ValueError: an unknown scope name or none at all.
    """
    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    if not names:
        raise ValueError("give at least one scope: ingest, read or admin")
    known = {s.value for s in Scope}
    for n in names:
        if n not in known:
            raise ValueError(f"unknown scope {n!r}; use ingest, read or admin")
    return frozenset(Scope(n) for n in names)
