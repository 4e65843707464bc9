"""`SqlConfigStore`: configuration objects and their audit log in the state database.

Writes are optimistic: each `ObjectWrite` carries the spec it was planned against
(``before``), and the transaction refuses (409, nothing written) when the stored row no longer
matches, so two concurrent applies never silently overwrite each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from llmpulse.domain.errors import Unavailable
from llmpulse.store.config_api import AuditEntry, AuditQuery, ObjectWrite, StoredObject
from llmpulse.store.state.config_tables import audit_log, config_objects
from llmpulse.store.state.slo_objects import SLO_KIND, get_slo_object, list_slo_objects, write_slo
from llmpulse.store.state.sql import SqlStateStore


def _object(row: Any) -> StoredObject:
    return StoredObject(
        row.kind, row.project, row.name, row.spec, row.created_at, row.updated_at, row.updated_by
    )


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        row.id, row.at, row.actor, row.action, row.kind, row.project, row.name, row.before,
        row.after,
    )  # fmt: skip


class SqlConfigStore:
    """A `ConfigObjectStore` sharing the `SqlStateStore`'s engine and write lock."""

    def __init__(self, state: SqlStateStore) -> None:
        """Use ``state``'s database (already migrated to head)."""
        self._state = state

    def list_objects(self, kind: str, project: str | None = None) -> list[StoredObject]:
        """Every object of a kind (of one project when given), by project and name."""
        if kind == SLO_KIND:
            with self._state.serial(), self._state.engine.connect() as conn:
                return list_slo_objects(conn, project)
        q = select(config_objects).where(config_objects.c.kind == kind)
        if project is not None:
            q = q.where(config_objects.c.project == project)
        q = q.order_by(config_objects.c.project, config_objects.c.name)
        with self._state.serial(), self._state.engine.connect() as conn:
            return [_object(r) for r in conn.execute(q).all()]

    def get_object(self, kind: str, project: str, name: str) -> StoredObject | None:
        """One object, or None."""
        with self._state.serial(), self._state.engine.connect() as conn:
            if kind == SLO_KIND:
                return get_slo_object(conn, project, name)
            row = _row(conn, kind, project, name)
        return None if row is None else _object(row)

    def write_objects(self, writes: list[ObjectWrite], actor: str, now: datetime) -> None:
        """Apply every write with its audit entry in one transaction (409: nothing written)."""
        with self._state.serial(), self._state.engine.begin() as conn:
            for w in writes:
                _write_one(conn, w, actor, now)

    def audit(self, q: AuditQuery) -> list[AuditEntry]:
        """Audit entries matching ``q``, newest first."""
        sel = select(audit_log)
        for column, value in (("kind", q.kind), ("project", q.project), ("name", q.name)):
            if value is not None:
                sel = sel.where(audit_log.c[column] == value)
        if q.before_id is not None:
            sel = sel.where(audit_log.c.id < q.before_id)
        sel = sel.order_by(audit_log.c.id.desc()).limit(q.limit)
        with self._state.serial(), self._state.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(sel).all()]


def _row(conn: Connection, kind: str, project: str, name: str) -> Any:
    c = config_objects.c
    return conn.execute(
        select(config_objects).where(c.kind == kind, c.project == project, c.name == name)
    ).first()


def _write_one(conn: Connection, w: ObjectWrite, actor: str, now: datetime) -> None:
    if w.kind == SLO_KIND:
        write_slo(conn, w, now)
    else:
        _write_object(conn, w, actor, now)
    _audit(conn, w, actor, now)


def _write_object(conn: Connection, w: ObjectWrite, actor: str, now: datetime) -> None:
    c = config_objects.c
    row = _row(conn, w.kind, w.project, w.name)
    w.check_planned(None if row is None else row.spec)
    key = (c.kind == w.kind, c.project == w.project, c.name == w.name)
    if w.after is None:
        conn.execute(delete(config_objects).where(*key))
    elif row is None:
        conn.execute(
            insert(config_objects).values(
                kind=w.kind,
                project=w.project,
                name=w.name,
                spec=w.after,
                created_at=now,
                updated_at=now,
                updated_by=actor,
            )
        )
    else:
        conn.execute(
            update(config_objects)
            .where(*key)
            .values(spec=w.after, updated_at=now, updated_by=actor)
        )


def _audit(conn: Connection, w: ObjectWrite, actor: str, now: datetime) -> None:
    conn.execute(
        insert(audit_log).values(
            at=now,
            actor=actor,
            action=w.action,
            kind=w.kind,
            project=w.project,
            name=w.name,
            before=w.before,
            after=w.after,
        )
    )


def config_store_for(state: object) -> SqlConfigStore:
    """The configuration store over a state store (the SQL one, the only kind there is).

    Raises:
        Unavailable: ``state`` is not an `SqlStateStore`.
    """
    if not isinstance(state, SqlStateStore):
        raise Unavailable("configuration objects need the SQL state store")
    return SqlConfigStore(state)
