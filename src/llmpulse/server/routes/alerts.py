"""Alerts at runtime: current alert series, incident history, notifications, backtests.

``GET /api/v1/projects/{project}/alerts`` (every alert series and its state),
``GET .../incidents`` (transitions with evidence, newest first; filter by monitor, state and
time), ``GET .../notifications`` (the notification log) and
``POST .../monitors/backtest`` (a ``kind: Monitor`` manifest: the alerts it would have fired
between ``start`` and ``end``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.monitors.backtest import BacktestResult
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.monitors.state_codec import load_state
from llmpulse.query.filters import as_utc
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services
from llmpulse.store.alerts_api import SeriesRow, TransitionQuery, TransitionRow

router = APIRouter(prefix="/api/v1", tags=["alerts"])
Svc = Annotated[Services, Depends(get_services)]


class AlertSeriesOut(BaseModel):
    """One alert series (monitor x segment) and where it stands."""

    monitor: str
    series: str = Field(description="Stable key: the monitor and its segment labels.")
    labels: dict[str, str]
    status: str = Field(description="ok, pending, firing, resolved, no_data or error.")
    since: datetime | None
    value: float | None
    baseline: float | None
    lower: float | None
    upper: float | None
    evaluated_at: datetime


class AlertList(BaseModel):
    """A project's alert series."""

    data: list[AlertSeriesOut]


class IncidentOut(BaseModel):
    """A status change of an alert series with its evidence."""

    id: int
    monitor: str
    series: str
    at: datetime
    from_status: str
    to_status: str
    reason: str
    labels: dict[str, str]
    value: float | None
    evidence: dict[str, Any] = Field(
        description="value, baseline, lower, upper, score, window_start, window_end, "
        "segment, detector, detail, example_span_ids"
    )


class IncidentList(BaseModel):
    """Transitions, newest first."""

    data: list[IncidentOut]


class NotificationOut(BaseModel):
    """One notification's outcome."""

    id: int
    receiver: str
    group_key: str
    at: datetime
    status: str = Field(description="sent or failed")
    attempts: int
    error: str
    alerts: list[str]
    firing: int
    resolved: int


class NotificationList(BaseModel):
    """The notification log, newest first."""

    data: list[NotificationOut]


class WouldFireOut(BaseModel):
    """An alert the monitor would have fired (``end`` null: still firing at ``end``)."""

    start: datetime
    end: datetime | None
    labels: dict[str, str]
    value: float | None
    baseline: float | None
    bounds: tuple[float | None, float | None]


class BacktestPoint(BaseModel):
    """One evaluation of one series in a backtest (for charts)."""

    at: datetime
    outcome: str
    value: float | None
    baseline: float | None
    lower: float | None
    upper: float | None


class BacktestSeriesOut(BaseModel):
    """One alert series' evaluations."""

    segment: dict[str, str]
    points: list[BacktestPoint]


class BacktestOut(BaseModel):
    """What a backtest found."""

    alerts: list[WouldFireOut]
    series: list[BacktestSeriesOut]


def _series(r: SeriesRow) -> AlertSeriesOut:
    state = load_state(r.state)
    e = state.evidence
    return AlertSeriesOut(
        monitor=r.monitor,
        series=r.series_key,
        labels=r.labels,
        status=r.status,
        since=r.since,
        value=None if e is None else e.value,
        baseline=None if e is None else e.baseline,
        lower=None if e is None else e.lower,
        upper=None if e is None else e.upper,
        evaluated_at=r.updated_at,
    )


def _incident(t: TransitionRow) -> IncidentOut:
    return IncidentOut(
        id=t.id,
        monitor=t.monitor,
        series=t.series_key,
        at=t.at,
        from_status=t.from_status,
        to_status=t.to_status,
        reason=t.reason,
        labels=t.labels,
        value=t.value,
        evidence=t.evidence,
    )


@router.get("/projects/{project}/alerts")
async def list_alerts(
    project: str,
    services: Svc,
    status: Annotated[str | None, Query(description="Only series in this status")] = None,
) -> AlertList:
    """Every alert series of the project's monitors with its current status and evidence."""
    await services.query.require_project(ProjectName(project))
    rows = await asyncio.to_thread(services.runtime.alerts.series, project)
    return AlertList(data=[_series(r) for r in rows if status is None or r.status == status])


@router.get("/projects/{project}/incidents")
async def list_incidents(
    project: str,
    services: Svc,
    monitor: str | None = None,
    state: Annotated[str | None, Query(description="Only transitions into this status")] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> IncidentList:
    """Alert history: every status change with its evidence, newest first."""
    await services.query.require_project(ProjectName(project))
    q = TransitionQuery(project, monitor, state, as_utc(start), as_utc(end), limit)
    rows = await asyncio.to_thread(services.runtime.alerts.transitions, q)
    return IncidentList(data=[_incident(t) for t in rows])


@router.get("/projects/{project}/notifications")
async def list_notifications(
    project: str,
    services: Svc,
    receiver: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> NotificationList:
    """The notification log: what was sent (or failed) to whom, attempts and error."""
    await services.query.require_project(ProjectName(project))
    rows = await asyncio.to_thread(services.runtime.alerts.notifications, project, receiver, limit)
    return NotificationList(
        data=[
            NotificationOut(
                id=n.id, receiver=n.receiver, group_key=n.group_key, at=n.at, status=n.status,
                attempts=n.attempts, error=n.error, alerts=list(n.alerts),
                firing=len(n.firing), resolved=len(n.resolved),
            )
            for n in rows
        ]
    )  # fmt: skip


def manifest_for(project: str, doc: dict[str, Any]) -> MonitorSpec:
    """The manifest's monitor, its project defaulting to (and required to equal) ``project``."""
    meta = doc.get("metadata")
    if isinstance(meta, dict):
        given = meta.get("project")
        if given is None:
            doc = {**doc, "metadata": {**meta, "project": project}}
        elif given != project:
            raise InvalidInput(
                "the manifest is for another project",
                [FieldError("metadata.project", f"must be {project!r} (the URL's project)")],
            )
    return MonitorSpec.from_manifest(doc)


def backtest_out(result: BacktestResult) -> BacktestOut:
    """The REST shape of a backtest."""
    return BacktestOut(
        alerts=[
            WouldFireOut(
                start=a.start, end=a.end, labels=a.labels, value=a.value,
                baseline=a.baseline, bounds=a.bounds,
            )
            for a in result.alerts
        ],
        series=[
            BacktestSeriesOut(
                segment=dict(seg),
                points=[
                    BacktestPoint(
                        at=e.at, outcome=e.outcome.value, value=e.evidence.value,
                        baseline=e.evidence.baseline, lower=e.evidence.lower,
                        upper=e.evidence.upper,
                    )
                    for e in evs
                ],
            )
            for seg, evs in result.evaluations.items()
        ],
    )  # fmt: skip


@router.post("/projects/{project}/monitors/backtest")
async def backtest_monitor(
    project: str,
    services: Svc,
    manifest: Annotated[dict[str, Any], Body(description="A kind: Monitor manifest")],
    start: Annotated[datetime, Query(description="First evaluation (ISO 8601)")],
    end: Annotated[datetime, Query(description="Last evaluation (ISO 8601)")],
) -> BacktestOut:
    """Run a monitor over history: the alerts it would have fired, and every evaluation.

    400 naming the field for a bad manifest (``spec.<field>``), a manifest of another project
    (``metadata.project``) or a bad range (``end``); 404 for a project without spans.
    """
    await services.query.require_project(ProjectName(project))
    spec = manifest_for(project, manifest)
    start_utc, end_utc = as_utc(start), as_utc(end)
    assert start_utc is not None  # noqa: S101 - given
    assert end_utc is not None  # noqa: S101 - given
    result = await services.runtime.backtest(spec, start_utc, end_utc)
    return backtest_out(result)
