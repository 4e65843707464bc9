"""What the configuration-object store keeps: rows, writes and audit entries (no SQL here).

A configuration object (monitor, alert route, receiver, silence, and later SLOs) is one
``(kind, project, name)`` with its spec as canonical JSON text; ``project`` is ``""`` for
objects that belong to no project (receivers). Every write also appends an `AuditEntry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from llmpulse.domain.errors import Conflict

Action = Literal["create", "update", "delete", "expire"]


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One stored configuration object."""

    kind: str
    project: str
    name: str
    spec: str  # canonical JSON
    created_at: datetime
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class ObjectWrite:
    """One change to apply: ``after`` None deletes, ``before`` None creates."""

    kind: str
    project: str
    name: str
    action: Action
    before: str | None
    after: str | None

    def check_planned(self, stored: str | None) -> None:
        """Refuse the write when the stored spec is not the one it was planned against.

        Raises:
            Conflict: ``stored`` is not ``before`` (created, changed or deleted meanwhile).
        """
        if stored == self.before:
            return
        where = f"{self.kind} {self.project + '/' if self.project else ''}{self.name}"
        state = "exists already" if self.before is None else "was changed or deleted meanwhile"
        raise Conflict(f"{where} {state}; read it again and retry")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    kind: str
    project: str
    name: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit entries to read, newest first."""

    kind: str | None = None
    project: str | None = None
    name: str | None = None
    before_id: int | None = None  # page: entries older than this id
    limit: int = 100


class ConfigObjectStore(Protocol):
    """Keeps configuration objects and the audit log of their changes, transactionally."""

    def list_objects(self, kind: str, project: str | None = None) -> list[StoredObject]:
        """Every object of a kind (of one project when given), by project and name."""
        ...

    def get_object(self, kind: str, project: str, name: str) -> StoredObject | None:
        """One object, or None."""
        ...

    def write_objects(self, writes: list[ObjectWrite], actor: str, now: datetime) -> None:
        """Apply every write and append one audit entry each, in one transaction.

        Raises:
            Conflict: an object to create exists already, or one to update or delete has
                changed since ``before`` was read (nothing is written).
        """
        ...

    def audit(self, q: AuditQuery) -> list[AuditEntry]:
        """Audit entries matching ``q``, newest first."""
        ...
