"""`SqlStateStore`: the state store over SQLAlchemy Core (SQLite now, PostgreSQL later).

Dialect differences stay in this module's two small helpers (`_make_engine` and
`_insert_ignoring_conflicts`); every query is written once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Insert,
    Table,
    and_,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from llmpulse.domain.errors import FieldError, InvalidInput, Unavailable
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.keys import ApiKeyRecord, Scope
from llmpulse.store.api import Document, Project
from llmpulse.store.slo_api import SloRecord
from llmpulse.store.state.migrate import upgrade_to_head
from llmpulse.store.state.slo_objects import select_slos
from llmpulse.store.state.tables import api_keys, documents, projects, slos


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _make_engine(url: str) -> Engine:
    """Create the engine; in-memory SQLite keeps one shared connection for all threads."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False},
        poolclass=StaticPool if in_memory else None,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _insert_ignoring_conflicts(engine: Engine, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING in the engine's dialect (the one dialect switch)."""
    name = engine.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"state store does not support {name}")


def _project(row: Any) -> Project:
    return Project(
        name=ProjectName(row.name), created_at=row.created_at, description=row.description
    )


def _api_key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row.key_id,
        name=row.name,
        token_sha256=row.token_sha256,
        scopes=frozenset(Scope(s) for s in row.scopes.split(",") if s),
        project=row.project,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class SqlStateStore:
    """A `StateStore` in any SQLAlchemy database (SQLite and PostgreSQL are supported)."""

    def __init__(self, url: str) -> None:
        """Connect and migrate the schema to head.

        Args:
            url: a SQLAlchemy URL, e.g. ``sqlite:///data/state.sqlite``; ``sqlite://`` is an
                in-memory database (tests).
        """
        self._engine = _make_engine(url)
        # SQLite has one writer at a time, and an in-memory database is one shared connection:
        # serialize its use across threads (PostgreSQL needs no such lock).
        self._one_at_a_time = self._engine.dialect.name == "sqlite"
        self._db_lock = threading.RLock()
        upgrade_to_head(self._engine)
        self._known: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def _serial(self) -> Iterator[None]:
        if self._one_at_a_time:
            with self._db_lock:
                yield
        else:
            yield

    def serial(self) -> contextlib.AbstractContextManager[None]:
        """Hold the one-writer lock (SQLite) around a use of `engine` by another store."""
        return self._serial()

    @property
    def write_lock(self) -> threading.RLock:
        """The lock that serialises this database's use (for other stores of this package)."""
        return self._db_lock

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for other stores of this package)."""
        if self._closed:
            raise Unavailable("state store is closed")
        return self._engine

    def ensure_projects(self, names: Sequence[ProjectName], now: datetime) -> None:
        """Create the projects that do not exist yet (idempotent, safe across replicas).

        Raises:
            InvalidInput: ``now`` is not timezone-aware.
        """
        if now.tzinfo is None:
            raise InvalidInput("now must be timezone-aware", [FieldError("now", "naive")])
        with self._lock:
            missing = sorted({n for n in names if n and n not in self._known})
        if not missing:
            return
        rows = [{"name": n, "created_at": now, "description": ""} for n in missing]
        with self._serial(), self.engine.begin() as conn:
            conn.execute(_insert_ignoring_conflicts(self._engine, projects), rows)
        with self._lock:
            self._known.update(missing)

    def list_projects(self) -> list[Project]:
        """Every known project, by name."""
        with self._serial(), self.engine.connect() as conn:
            rows = conn.execute(select(projects).order_by(projects.c.name)).all()
        return [_project(r) for r in rows]

    def get_project(self, name: ProjectName) -> Project | None:
        """One project, or None."""
        with self._serial(), self.engine.connect() as conn:
            row = conn.execute(select(projects).where(projects.c.name == name)).first()
        return None if row is None else _project(row)

    def put_document(self, kind: str, name: str, body: str, now: datetime) -> None:
        """Create or replace one named document."""
        with self._serial(), self.engine.begin() as conn:
            conn.execute(
                delete(documents).where(documents.c.kind == kind, documents.c.name == name)
            )
            conn.execute(documents.insert().values(kind=kind, name=name, body=body, updated_at=now))

    def get_document(self, kind: str, name: str) -> Document | None:
        """One document, or None."""
        with self._serial(), self.engine.connect() as conn:
            row = conn.execute(
                select(documents).where(documents.c.kind == kind, documents.c.name == name)
            ).first()
        return None if row is None else Document(row.kind, row.name, row.body, row.updated_at)

    def list_documents(self, kind: str, prefix: str = "") -> list[Document]:
        """Every document of one kind whose name starts with ``prefix`` (literally), by name."""
        query = select(documents).where(documents.c.kind == kind)
        if prefix:
            # substr, not LIKE: SQLite's LIKE ignores case, and a prefix is matched exactly.
            query = query.where(func.substr(documents.c.name, 1, len(prefix)) == prefix)
        with self._serial(), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(documents.c.name)).all()
        return [Document(r.kind, r.name, r.body, r.updated_at) for r in rows]

    def delete_document(self, kind: str, name: str) -> bool:
        """Delete one document; True when it existed."""
        with self._serial(), self.engine.begin() as conn:
            result = conn.execute(
                delete(documents).where(documents.c.kind == kind, documents.c.name == name)
            )
        return bool(result.rowcount)

    def apply_documents(
        self, kind: str, puts: Mapping[str, str], deletes: Sequence[str], now: datetime
    ) -> None:
        """Replace the documents in ``puts`` and delete those in ``deletes`` in one transaction."""
        names = sorted({*puts, *deletes})
        with self._serial(), self.engine.begin() as conn:
            if names:
                conn.execute(
                    delete(documents).where(documents.c.kind == kind, documents.c.name.in_(names))
                )
            if puts:
                conn.execute(
                    documents.insert(),
                    [
                        {"kind": kind, "name": n, "body": b, "updated_at": now}
                        for n, b in puts.items()
                    ],
                )

    def delete_project(self, name: ProjectName) -> bool:
        """Forget a project: its row and its documents (those named ``<name>/…`` and those
        of a ``project.*`` kind named ``<name>``). True when the project existed."""
        prefix = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        with self._serial(), self.engine.begin() as conn:
            gone = conn.execute(delete(projects).where(projects.c.name == name)).rowcount
            conn.execute(
                delete(documents).where(
                    or_(
                        documents.c.name.like(prefix, escape="\\"),
                        and_(documents.c.kind.like("project.%"), documents.c.name == name),
                    )
                )
            )
        with self._lock:
            self._known.discard(name)
        return bool(gone)

    def add_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new API key (its token's hash, never the token)."""
        row = {
            "key_id": record.key_id,
            "name": record.name,
            "token_sha256": record.token_sha256,
            "scopes": ",".join(sorted(s.value for s in record.scopes)),
            "project": record.project,
            "created_at": record.created_at,
            "revoked_at": record.revoked_at,
        }
        with self._serial(), self.engine.begin() as conn:
            conn.execute(api_keys.insert().values(**row))

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """One key by its lookup id (revoked ones too), or None."""
        with self._serial(), self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else _api_key(row)

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Every key, revoked ones too, oldest first."""
        with self._serial(), self.engine.connect() as conn:
            rows = conn.execute(
                select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
            ).all()
        return [_api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        """Mark a key revoked; True when it existed and was active."""
        with self._serial(), self.engine.begin() as conn:
            result = conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(result.rowcount)

    def list_slos(self, project: str | None = None) -> list[SloRecord]:
        """Every SLO (of one project, if given), by project and name."""
        with self._serial(), self.engine.connect() as conn:
            rows = conn.execute(select_slos(project)).all()
        return [SloRecord(r.project, r.name, r.spec, r.created_at, r.updated_at) for r in rows]

    def apply_slos(
        self, project: str, puts: Mapping[str, str], deletes: Sequence[str], now: datetime
    ) -> None:
        """Create or replace the SLOs in ``puts`` (name → manifest JSON) and delete those in
        ``deletes``, in one transaction; a replaced SLO keeps its creation time."""
        with self._serial(), self.engine.begin() as conn:
            created = {
                r.name: r.created_at
                for r in conn.execute(
                    select(slos.c.name, slos.c.created_at).where(slos.c.project == project)
                )
            }
            names = sorted({*puts, *deletes})
            if names:
                conn.execute(delete(slos).where(slos.c.project == project, slos.c.name.in_(names)))
            if puts:
                conn.execute(
                    slos.insert(),
                    [
                        {
                            "project": project,
                            "name": n,
                            "spec": body,
                            "created_at": created.get(n, now),
                            "updated_at": now,
                        }
                        for n, body in puts.items()
                    ],
                )

    def close(self) -> None:
        """Release every pooled connection; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()
