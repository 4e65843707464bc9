"""Rows and queries of the alert runtime's state (see `store.state.alerts_sql.SqlAlertStore`).

Opaque to the store: labels, evidence and the serialized series state are JSON the monitors
and alerts packages write and read; the store only filters on project, monitor, status and
time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

MAX_ROWS = 1000


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """The current state of one alert series."""

    project: str
    series_key: str
    monitor: str
    labels: dict[str, str]
    status: str
    since: datetime | None
    state: str  # JSON written by the scheduler
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One status change of one alert series, with its evidence (``id`` 0 until stored)."""

    project: str
    monitor: str
    series_key: str
    at: datetime
    from_status: str
    to_status: str
    reason: str
    labels: dict[str, str]
    evidence: dict[str, Any]
    value: float | None = None
    id: int = 0


@dataclass(frozen=True, slots=True)
class TransitionQuery:
    """Transitions of a project, newest first, optionally of one monitor, status or range."""

    project: str
    monitor: str | None = None
    status: str | None = None  # the status entered
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 200


@dataclass(frozen=True, slots=True)
class NotificationRow:
    """One notification attempt's outcome (``id`` 0 until stored)."""

    project: str
    receiver: str
    group_key: str
    at: datetime
    status: str  # sent | failed
    attempts: int
    error: str = ""
    firing: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    id: int = 0


@dataclass(frozen=True, slots=True)
class CursorRow:
    """Where one monitor's evaluations stand."""

    project: str
    monitor: str
    last_eval_at: datetime
    last_error: str = ""
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class GroupRow:
    """An alert group of the dispatcher (alerts as JSON the dispatcher writes)."""

    receiver: str
    group_key: str
    project: str
    created_at: datetime
    alerts: str = "[]"


@dataclass(frozen=True, slots=True)
class CycleWrite:
    """What one evaluation cycle stores, in one transaction."""

    series: list[SeriesRow] = field(default_factory=list)
    transitions: list[TransitionRow] = field(default_factory=list)
    cursors: list[CursorRow] = field(default_factory=list)


class AlertStore(Protocol):
    """An `AlertStore` keeps the alert runtime's state (`state.alerts_sql.SqlAlertStore`)."""

    def write_cycle(self, w: CycleWrite) -> None:
        """Store a cycle's series states, transitions and cursors in one transaction."""
        ...

    def series(self, project: str | None = None) -> list[SeriesRow]:
        """Current alert series states."""
        ...

    def transitions(self, q: TransitionQuery) -> list[TransitionRow]:
        """Transitions matching ``q``, newest first."""
        ...

    def add_notification(self, n: NotificationRow) -> None:
        """Record one notification's outcome."""
        ...

    def notifications(
        self, project: str | None = None, receiver: str | None = None, limit: int = 200
    ) -> list[NotificationRow]:
        """Notification log entries, newest first."""
        ...

    def last_sent(self, receiver: str, group_key: str) -> NotificationRow | None:
        """The latest successful notification of a group to a receiver."""
        ...

    def cursors(self) -> list[CursorRow]:
        """Every monitor's cursor."""
        ...

    def put_group(self, g: GroupRow) -> None:
        """Create or replace an alert group."""
        ...

    def groups(self) -> list[GroupRow]:
        """Every alert group."""
        ...

    def delete_group(self, receiver: str, group_key: str) -> None:
        """Forget an alert group."""
        ...
