"""`SqlAlertStore`: the alert runtime's state in the state store's database (SQLAlchemy Core)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, delete, select

from llmpulse.store.alerts_api import (
    MAX_ROWS,
    CursorRow,
    CycleWrite,
    GroupRow,
    NotificationRow,
    SeriesRow,
    TransitionQuery,
    TransitionRow,
)
from llmpulse.store.state.alert_tables import (
    alert_groups,
    alert_series,
    alert_transitions,
    monitor_cursors,
    notifications,
)
from llmpulse.store.state.sql import SqlStateStore


class SqlAlertStore:
    """Alert series, transitions, notifications, groups and monitor cursors."""

    def __init__(self, state: SqlStateStore) -> None:
        """Share ``state``'s engine (and its one-writer lock on SQLite)."""
        self._state = state

    def write_cycle(self, w: CycleWrite) -> None:
        """Store a cycle's series states, transitions and cursors: all of it or none."""
        with self._state.serial(), self._state.engine.begin() as conn:
            for s in w.series:
                conn.execute(
                    delete(alert_series).where(
                        alert_series.c.project == s.project,
                        alert_series.c.series_key == s.series_key,
                    )
                )
            if w.series:
                conn.execute(alert_series.insert(), [_series_dict(s) for s in w.series])
            if w.transitions:
                conn.execute(
                    alert_transitions.insert(), [_transition_dict(t) for t in w.transitions]
                )
            for c in w.cursors:
                conn.execute(
                    delete(monitor_cursors).where(
                        monitor_cursors.c.project == c.project,
                        monitor_cursors.c.monitor == c.monitor,
                    )
                )
            if w.cursors:
                conn.execute(
                    monitor_cursors.insert(),
                    [
                        {
                            "project": c.project,
                            "monitor": c.monitor,
                            "last_eval_at": c.last_eval_at,
                            "last_error": c.last_error,
                            "duration_ms": c.duration_ms,
                        }
                        for c in w.cursors
                    ],
                )

    def series(self, project: str | None = None) -> list[SeriesRow]:
        """Current alert series states (of one project, or all), by project and key."""
        q = select(alert_series).order_by(alert_series.c.project, alert_series.c.series_key)
        if project is not None:
            q = q.where(alert_series.c.project == project)
        with self._state.serial(), self._state.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [
            SeriesRow(
                r.project, r.series_key, r.monitor, json.loads(r.labels), r.status, r.since,
                r.state, r.updated_at,
            )
            for r in rows
        ]  # fmt: skip

    def transitions(self, q: TransitionQuery) -> list[TransitionRow]:
        """Transitions matching ``q``, newest first."""
        t = alert_transitions.c
        conds: list[Any] = [t.project == q.project]
        if q.monitor is not None:
            conds.append(t.monitor == q.monitor)
        if q.status is not None:
            conds.append(t.to_status == q.status)
        if q.start is not None:
            conds.append(t.at >= q.start)
        if q.end is not None:
            conds.append(t.at < q.end)
        limit = max(1, min(q.limit, MAX_ROWS))
        stmt = select(alert_transitions).where(and_(*conds)).order_by(t.at.desc(), t.id.desc())
        with self._state.serial(), self._state.engine.connect() as conn:
            rows = conn.execute(stmt.limit(limit)).all()
        return [
            TransitionRow(
                r.project, r.monitor, r.series_key, r.at, r.from_status, r.to_status, r.reason,
                json.loads(r.labels), json.loads(r.evidence), r.value, r.id,
            )
            for r in rows
        ]  # fmt: skip

    def add_notification(self, n: NotificationRow) -> None:
        """Record one notification's outcome."""
        row = {
            "project": n.project,
            "receiver": n.receiver,
            "group_key": n.group_key,
            "at": n.at,
            "status": n.status,
            "attempts": n.attempts,
            "error": n.error,
            "firing": json.dumps(list(n.firing)),
            "resolved": json.dumps(list(n.resolved)),
            "alerts": json.dumps(list(n.alerts)),
        }
        with self._state.serial(), self._state.engine.begin() as conn:
            conn.execute(notifications.insert().values(**row))

    def notifications(
        self, project: str | None = None, receiver: str | None = None, limit: int = 200
    ) -> list[NotificationRow]:
        """Notification log entries, newest first."""
        c = notifications.c
        stmt = select(notifications).order_by(c.at.desc(), c.id.desc())
        if project is not None:
            stmt = stmt.where(c.project == project)
        if receiver is not None:
            stmt = stmt.where(c.receiver == receiver)
        with self._state.serial(), self._state.engine.connect() as conn:
            rows = conn.execute(stmt.limit(max(1, min(limit, MAX_ROWS)))).all()
        return [_notification(r) for r in rows]

    def last_sent(self, receiver: str, group_key: str) -> NotificationRow | None:
        """The latest successful notification of a group to a receiver."""
        c = notifications.c
        stmt = (
            select(notifications)
            .where(c.receiver == receiver, c.group_key == group_key, c.status == "sent")
            .order_by(c.at.desc(), c.id.desc())
            .limit(1)
        )
        with self._state.serial(), self._state.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _notification(row)

    def cursors(self) -> list[CursorRow]:
        """Every monitor's cursor."""
        with self._state.serial(), self._state.engine.connect() as conn:
            rows = conn.execute(select(monitor_cursors)).all()
        return [
            CursorRow(r.project, r.monitor, r.last_eval_at, r.last_error, r.duration_ms)
            for r in rows
        ]

    def put_group(self, g: GroupRow) -> None:
        """Create or replace an alert group."""
        c = alert_groups.c
        with self._state.serial(), self._state.engine.begin() as conn:
            conn.execute(
                delete(alert_groups).where(c.receiver == g.receiver, c.group_key == g.group_key)
            )
            conn.execute(
                alert_groups.insert().values(
                    receiver=g.receiver, group_key=g.group_key, project=g.project,
                    created_at=g.created_at, alerts=g.alerts,
                )
            )  # fmt: skip

    def groups(self) -> list[GroupRow]:
        """Every alert group."""
        with self._state.serial(), self._state.engine.connect() as conn:
            rows = conn.execute(select(alert_groups)).all()
        return [GroupRow(r.receiver, r.group_key, r.project, r.created_at, r.alerts) for r in rows]

    def delete_group(self, receiver: str, group_key: str) -> None:
        """Forget an alert group (all its alerts resolved and notified)."""
        c = alert_groups.c
        with self._state.serial(), self._state.engine.begin() as conn:
            conn.execute(
                delete(alert_groups).where(c.receiver == receiver, c.group_key == group_key)
            )


def _series_dict(s: SeriesRow) -> dict[str, Any]:
    return {
        "project": s.project,
        "series_key": s.series_key,
        "monitor": s.monitor,
        "labels": json.dumps(s.labels, sort_keys=True),
        "status": s.status,
        "since": s.since,
        "state": s.state,
        "updated_at": s.updated_at,
    }


def _transition_dict(t: TransitionRow) -> dict[str, Any]:
    return {
        "project": t.project,
        "monitor": t.monitor,
        "series_key": t.series_key,
        "at": t.at,
        "from_status": t.from_status,
        "to_status": t.to_status,
        "reason": t.reason,
        "labels": json.dumps(t.labels, sort_keys=True),
        "evidence": json.dumps(t.evidence, sort_keys=True),
        "value": t.value,
    }


def _notification(r: Any) -> NotificationRow:
    return NotificationRow(
        r.project, r.receiver, r.group_key, r.at, r.status, r.attempts, r.error,
        tuple(json.loads(r.firing)), tuple(json.loads(r.resolved)), tuple(json.loads(r.alerts)),
        r.id,
    )  # fmt: skip
