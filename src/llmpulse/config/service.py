"""`ConfigService`: apply, export and edit configuration objects, with an audit entry each.

REST routes, UI pages and (through REST) the CLI and SDK call it; the scheduler reads
`list_monitors` and `routing_config`. Every write goes through `_write`: one store
transaction, optimistic (a concurrent change makes it fail with 409, writing nothing), one
audit row per changed object with the actor and the spec before and after.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from llmpulse.alerts.notifiers import Delivery
from llmpulse.alerts.source import RoutingConfig
from llmpulse.clock import Clock
from llmpulse.config.bundle import parse_documents
from llmpulse.config.kinds import stored_kinds
from llmpulse.config.plan import Change, Plan, final_state, plan
from llmpulse.config.receiver_test import send_test
from llmpulse.config.resources import Resource
from llmpulse.config.route_kind import route_node
from llmpulse.config.source import StoredConfigSource
from llmpulse.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.store.config_api import (
    AuditEntry,
    AuditQuery,
    ConfigObjectStore,
    ObjectWrite,
    StoredObject,
)


def _resource(row: StoredObject) -> Resource:
    return Resource(row.kind, row.project, row.name, json.loads(row.spec))


def _writes(p: Plan) -> list[ObjectWrite]:
    out = []
    for c in p.changes:
        if c.action == "unchanged":
            continue
        before = None if c.before is None else c.before.spec_json
        after = None if c.after is None else c.after.spec_json
        out.append(ObjectWrite(c.kind, c.project, c.name, c.action, before, after))
    return out


class ConfigService:
    """Configuration objects over a `ConfigObjectStore`."""

    def __init__(
        self, store: ConfigObjectStore, clock: Clock, env: Mapping[str, str] | None = None
    ) -> None:
        """Use ``store``; ``env`` holds the receivers' secrets (the process environment)."""
        self._store = store
        self._clock = clock
        self._env = os.environ if env is None else env
        self.source = StoredConfigSource(store, self._env)
        """The same configuration for the scheduler, read synchronously."""

    @property
    def clock(self) -> Clock:
        """The service's clock."""
        return self._clock

    async def objects(self, kind: str, project: str | None = None) -> list[Resource]:
        """Every object of a kind (of one project when given)."""
        rows = await asyncio.to_thread(self._store.list_objects, kind, project)
        return [_resource(r) for r in rows]

    async def get(self, kind: str, project: str, name: str) -> Resource:
        """One object.

        Raises:
            NotFound: it does not exist.
        """
        row = await asyncio.to_thread(self._store.get_object, kind, project, name)
        if row is None:
            where = f" in project {project!r}" if project else ""
            raise NotFound(f"{kind} {name!r} does not exist{where}")
        return _resource(row)

    async def plan(
        self, docs: Sequence[Any], *, prune: bool = False, project: str | None = None
    ) -> Plan:
        """Validate ``docs`` and diff them against the stored objects (nothing is written).

        Raises:
            InvalidInput: a document is invalid, or a route names a receiver that would not
                exist (paths under ``documents[i]``).
        """
        desired = parse_documents(docs, project)
        current: list[Resource] = []
        for kind in sorted(
            {r.kind for r in desired} | {"Receiver", "AlertRoute", "ReportSchedule"}
        ):
            current += await self.objects(kind)
        p = plan(desired, current, prune=prune)
        where = {r.key: f"documents[{i}]" for i, r in enumerate(desired)}
        _check_references(final_state(current, p), where)
        return p

    async def apply(
        self,
        docs: Sequence[Any],
        actor: str,
        *,
        prune: bool = False,
        dry_run: bool = False,
        project: str | None = None,
    ) -> Plan:
        """Plan ``docs`` and, unless ``dry_run``, write every change in one transaction.

        ``project`` is the project of SLOs that name none (OpenSLO files usually don't).
        """
        p = await self.plan(docs, prune=prune, project=project)
        if dry_run or not p.has_changes:
            return p
        await self._write(p, actor)
        return Plan(p.changes, applied=True)

    async def put(self, doc: Any, actor: str, *, create_only: bool = False) -> Plan:
        """Create or replace one object from its manifest (``create_only``: 409 if it exists).

        Raises:
            InvalidInput: the manifest is invalid.
            Conflict: ``create_only`` and the object exists.
        """
        try:
            p = await self.plan([doc])
        except InvalidInput as exc:
            raise _unprefixed(exc) from exc
        if create_only and p.changes[0].action != "create":
            raise Conflict(f"{p.changes[0].label} exists already")
        if p.has_changes:
            await self._write(p, actor)
        return Plan(p.changes, applied=p.has_changes)

    async def delete(self, kind: str, project: str, name: str, actor: str) -> Resource:
        """Delete one object.

        Raises:
            NotFound: it does not exist.
            Conflict: it is a receiver some project's route still names.
        """
        old = await self.get(kind, project, name)
        p = Plan((Change("delete", *old.key, old, None),))
        if kind == "Receiver":
            users = await self._routes_using(name)
            if users:
                raise Conflict(f"receiver {name!r} is used by the routes of {', '.join(users)}")
        await self._write(p, actor)
        return old

    async def export(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every stored object as a manifest (one project's, plus every receiver)."""
        out: list[dict[str, Any]] = []
        for kind, handler in stored_kinds().items():
            scope = project if handler.project_scoped else None
            out += [r.manifest() for r in await self.objects(kind, scope)]
        return out

    async def list_monitors(self, project: str | None = None) -> list[MonitorSpec]:
        """Every monitor (of one project when given), by project and name."""
        return await asyncio.to_thread(self.source.list_monitors, project)

    async def routing_config(self, project: str) -> RoutingConfig | None:
        """The project's routing tree, every usable receiver's notifier, the project's silences.

        None when the project has no ``AlertRoute`` (its alerts notify nobody).
        """
        return await asyncio.to_thread(self.source.routing_config, project)

    async def test_receiver(self, name: str) -> Delivery:
        """Send a test notification through a receiver; report what the service answered.

        Raises:
            NotFound: no such receiver.
            InvalidInput: a secret's environment variable is not set on the server.
        """
        return await send_test(await self.get("Receiver", "", name), self._env, self._clock.now())

    async def audit(self, q: AuditQuery) -> list[AuditEntry]:
        """Audit entries, newest first."""
        return await asyncio.to_thread(self._store.audit, q)

    async def write_resource(self, old: Resource | None, new: Resource, actor: str) -> None:
        """Create (``old`` None) or replace one parsed resource (silence expiry uses it)."""
        action: Literal["create", "update"] = "create" if old is None else "update"
        change = Change(action, *new.key, old, new)
        await self._write(Plan((change,)), actor, expire=action == "update")

    async def _routes_using(self, receiver: str) -> list[str]:
        users = []
        for r in await self.objects("AlertRoute"):
            if receiver in route_node(r.spec).receivers():
                users.append(r.project)
        return users

    async def _write(self, p: Plan, actor: str, *, expire: bool = False) -> None:
        writes = _writes(p)
        if expire:
            writes = [
                ObjectWrite(w.kind, w.project, w.name, "expire", w.before, w.after) for w in writes
            ]
        await asyncio.to_thread(self._store.write_objects, writes, actor, self._clock.now())


def _unprefixed(exc: InvalidInput) -> InvalidInput:
    """A one-document error with paths inside the document (``spec.window``)."""
    head = "documents[0]"
    errors = [
        FieldError(e.path.removeprefix(head).removeprefix(".") or "$", e.message)
        for e in exc.errors
    ]
    return InvalidInput(exc.detail.removeprefix(head).removeprefix("."), errors)


def _check_references(
    state: Mapping[tuple[str, str, str], Resource], where: dict[Any, str]
) -> None:
    receivers = {k[2] for k in state if k[0] == "Receiver"}
    errors: list[FieldError] = []
    for key, r in state.items():
        if key[0] == "ReportSchedule":
            names = set(r.spec["receivers"])
        elif key[0] == "AlertRoute":
            names = route_node(r.spec).receivers()
        else:
            continue
        missing = sorted(names - receivers)
        for name in missing:
            path = f"{where.get(key, r.label)}.spec"
            errors.append(FieldError(path, f"receiver {name!r} does not exist"))
    if errors:
        raise InvalidInput(f"{errors[0].path}: {errors[0].message}", errors)
