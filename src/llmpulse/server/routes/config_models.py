"""Request and response models shared by the configuration routes, and who made a change.

Objects travel as manifests (the YAML form as JSON: ``apiVersion``, ``kind``, ``metadata``,
``spec``), so a REST body, a file and an export all look the same, and a validation error
names the same path (``spec.window``) in each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from llmpulse.config.plan import Change, Plan
from llmpulse.config.resources import API_VERSION, Resource
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.store.config_api import AuditEntry

ACTOR_HEADER = "x-llmpulse-actor"
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The object exists already, is in use, or changed meanwhile"}
}


def actor_of(request: Request, default: str = "api") -> str:
    """Who is making the change: the API key's (or UI login's) name.

    On an open server (no keys) the client may say who it is (`ACTOR_HEADER`, e.g. ``cli``),
    else ``default``.
    """
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.key_id != "open":
        return str(principal.name)
    said = request.headers.get(ACTOR_HEADER, "").strip()[:100]
    return said or default


class Metadata(BaseModel):
    """An object's identity."""

    name: str | None = None
    project: str | None = None


class ManifestIn(BaseModel):
    """An object as a manifest; ``apiVersion`` and ``kind`` default to the route's."""

    apiVersion: str = API_VERSION
    kind: str | None = None
    metadata: Metadata = Field(default_factory=Metadata)
    spec: dict[str, Any] = Field(default_factory=dict)

    def document(self, kind: str, project: str | None, name: str | None) -> dict[str, Any]:
        """The manifest with kind, project and name filled from the path.

        Raises:
            InvalidInput: the body names another kind, project or object than the path.
        """
        for field, given, want in (
            ("kind", self.kind, kind),
            ("metadata.project", self.metadata.project, project),
            ("metadata.name", self.metadata.name, name),
        ):
            if given is not None and want is not None and given != want:
                msg = f"is {given!r} but the path says {want!r}"
                raise InvalidInput(f"{field} {msg}", [FieldError(field, msg)])
        meta: dict[str, Any] = {"name": name or self.metadata.name}
        if project or self.metadata.project:
            meta["project"] = project or self.metadata.project
        return {"apiVersion": self.apiVersion, "kind": kind, "metadata": meta, "spec": self.spec}


class ManifestOut(BaseModel):
    """An object as a manifest (secrets appear only as environment references)."""

    apiVersion: str
    kind: str
    metadata: Metadata
    spec: dict[str, Any]

    @classmethod
    def of(cls, r: Resource) -> ManifestOut:
        """Map a resource."""
        return cls.model_validate(r.manifest())


class ManifestList(BaseModel):
    """Objects of one kind."""

    data: list[ManifestOut]


class FieldChangeOut(BaseModel):
    """One changed field of an update."""

    path: str
    before: Any
    after: Any


class ChangeOut(BaseModel):
    """What happens (or happened) to one object."""

    action: str
    kind: str
    project: str
    name: str
    fields: list[FieldChangeOut]

    @classmethod
    def of(cls, c: Change) -> ChangeOut:
        """Map a change."""
        return cls(
            action=c.action, kind=c.kind, project=c.project, name=c.name,
            fields=[FieldChangeOut(path=f.path, before=f.before, after=f.after) for f in c.fields],
        )  # fmt: skip


class PlanOut(BaseModel):
    """A plan: every change, whether it was applied, and counts per action."""

    applied: bool
    has_changes: bool
    changes: list[ChangeOut]
    counts: dict[str, int]

    @classmethod
    def of(cls, p: Plan) -> PlanOut:
        """Map a plan."""
        actions = ("create", "update", "delete", "unchanged")
        return cls(
            applied=p.applied, has_changes=p.has_changes,
            changes=[ChangeOut.of(c) for c in p.changes],
            counts={a: p.count(a) for a in actions},  # type: ignore[arg-type]
        )  # fmt: skip


class AuditEntryOut(BaseModel):
    """One change in the audit log; ``before``/``after`` are the spec's JSON (or null)."""

    id: int
    at: datetime
    actor: str
    action: str
    kind: str
    project: str
    name: str
    before: Any
    after: Any

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        """Map an entry (JSON text parsed)."""
        import json

        return cls(
            id=e.id, at=e.at, actor=e.actor, action=e.action, kind=e.kind, project=e.project,
            name=e.name, before=None if e.before is None else json.loads(e.before),
            after=None if e.after is None else json.loads(e.after),
        )  # fmt: skip
