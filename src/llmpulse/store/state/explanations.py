"""`SqlExplanationRecords`: append-only, hash-chained explanation records in the state DB.

Records are never updated or deleted by llmpulse; each project has its own chain (the body of
each record is canonical JSON, its hash covers the previous record's hash). Appends of one
project are serialised by this store so the chain cannot fork; on PostgreSQL the row lock on
the project's last record would be needed across replicas (not yet: one writer per project).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, select

from llmpulse.domain.explanations import ExplanationRecord
from llmpulse.store.state.tables import explanation_external_ids, explanation_records


def _record(row: Any) -> ExplanationRecord:
    return ExplanationRecord(
        seq=int(row.seq),
        record_id=row.record_id,
        body=json.loads(row.body),
        created_at=row.created_at,
        previous_hash=row.previous_hash,
        hash=row.hash,
    )


class SqlExplanationRecords:
    """Explanation records over the state store's engine.

    Args:
        engine: The state store's SQLAlchemy engine.
        serial: A lock shared with the state store on SQLite (one writer at a time).
    """

    def __init__(self, engine: Engine, serial: threading.RLock | None = None) -> None:
        self._engine = engine
        self._lock = serial or threading.RLock()

    @contextmanager
    def _serial(self) -> Iterator[None]:
        with self._lock:
            yield

    def append(
        self,
        body: Mapping[str, Any],
        body_json: str,
        created_at: datetime,
        link: Callable[[str], str],
    ) -> ExplanationRecord:
        """Store one record after the project's last one.

        Args:
            body: The record body (holds record_id, project, subject, method, external_ids).
            body_json: Its canonical JSON (what is hashed and stored).
            created_at: Storage time.
            link: ``link(previous_hash) -> hash`` computes the new record's hash.

        Returns:
            The stored record.
        """
        project = str(body["project"])
        subject = body["subject"]
        with self._serial(), self._engine.begin() as conn:
            last = conn.execute(
                select(explanation_records.c.hash)
                .where(explanation_records.c.project == project)
                .order_by(explanation_records.c.seq.desc())
                .limit(1)
            ).first()
            previous = last.hash if last is not None else "0" * 64
            digest = link(previous)
            result = conn.execute(
                explanation_records.insert().values(
                    record_id=body["record_id"],
                    project=project,
                    subject_kind=subject["kind"],
                    subject_id=subject["id"],
                    method=body["method"],
                    body=body_json,
                    created_at=created_at,
                    previous_hash=previous,
                    hash=digest,
                )
            )
            ids = dict(body.get("external_ids") or {})
            if ids:
                conn.execute(
                    explanation_external_ids.insert(),
                    [
                        {"record_id": body["record_id"], "project": project, "name": k, "value": v}
                        for k, v in sorted(ids.items())
                    ],
                )
            seq = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        return ExplanationRecord(int(seq), body["record_id"], body, created_at, previous, digest)

    def get(self, record_id: str) -> ExplanationRecord | None:
        """One record by id, or None."""
        with self._serial(), self._engine.connect() as conn:
            row = conn.execute(
                select(explanation_records).where(explanation_records.c.record_id == record_id)
            ).first()
        return None if row is None else _record(row)

    def search(
        self,
        project: str,
        *,
        subject_kind: str | None = None,
        subject_id: str | None = None,
        external: tuple[str, str] | None = None,
        method: str | None = None,
        limit: int = 100,
    ) -> list[ExplanationRecord]:
        """Records of a project, newest first, filtered by subject, external id or method."""
        t = explanation_records
        q = select(t).where(t.c.project == project)
        if subject_kind is not None:
            q = q.where(t.c.subject_kind == subject_kind)
        if subject_id is not None:
            q = q.where(t.c.subject_id == subject_id)
        if method is not None:
            q = q.where(t.c.method == method)
        if external is not None:
            x = explanation_external_ids
            q = q.join(
                x,
                and_(
                    x.c.record_id == t.c.record_id,
                    x.c.project == project,
                    x.c.name == external[0],
                    x.c.value == external[1],
                ),
            )
        q = q.order_by(t.c.seq.desc()).limit(limit)
        with self._serial(), self._engine.connect() as conn:
            rows = conn.execute(q).all()
        return [_record(r) for r in rows]

    def chain(self, project: str) -> list[tuple[ExplanationRecord, dict[str, Any], str]]:
        """Every record of a project in chain order, with its indexed columns and raw body.

        Returns:
            (record, columns, raw body text): the columns are what search filters on
            (subject, method, external ids), so the verifier can check them against the body.
        """
        t = explanation_records
        x = explanation_external_ids
        with self._serial(), self._engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.project == project).order_by(t.c.seq)).all()
            ext_rows = conn.execute(select(x).where(x.c.project == project)).all()
        external: dict[str, dict[str, str]] = {}
        for e in ext_rows:
            external.setdefault(e.record_id, {})[e.name] = e.value
        out = []
        for r in rows:
            columns = {
                "record_id": r.record_id,
                "subject": {"kind": r.subject_kind, "id": r.subject_id},
                "method": r.method,
                "external_ids": external.get(r.record_id, {}),
            }
            try:
                rec = _record(r)
            except json.JSONDecodeError:
                rec = ExplanationRecord(
                    int(r.seq), r.record_id, {}, r.created_at, r.previous_hash, r.hash
                )
            out.append((rec, columns, r.body))
        return out


def explanation_store(state: object) -> SqlExplanationRecords:
    """The explanation records of a `SqlStateStore`, sharing its engine and writer lock.

    Raises:
        TypeError: ``state`` is not a `SqlStateStore`.
    """
    from llmpulse.store.state.sql import SqlStateStore

    if not isinstance(state, SqlStateStore):
        raise TypeError(f"explanation records need a SqlStateStore, not {type(state).__name__}")
    return SqlExplanationRecords(state.engine, state.write_lock)
