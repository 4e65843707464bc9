"""`AlertsView`: the slice of the monitor runtime the monitor and incident pages read.

The UI may not import `llmpulse.server`; it names what it needs here and finds the running
app's runtime by duck typing (``app.state.services.runtime``), as `reader` does for queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from fastapi import Request

from llmpulse.monitors.backtest import BacktestResult
from llmpulse.monitors.scheduler import MonitorSource
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.monitors.states import AlertStatus
from llmpulse.store.alerts_api import AlertStore


class AlertsView(Protocol):
    """An `AlertsView` reads monitors, alert state and backtests (`MonitorRuntime` is one)."""

    source: MonitorSource
    alerts: AlertStore

    async def backtest(self, spec: MonitorSpec, start: datetime, end: datetime) -> BacktestResult:
        """Run ``spec`` over ``[start, end]``."""
        ...

    def current_states(self, project: str) -> dict[str, AlertStatus]:
        """Per monitor: its worst series status."""
        ...

    async def local_monitors(self, project: str) -> list[tuple[MonitorSpec, str]]:
        """The monitors run from the monitors file or code, with where each comes from."""
        ...


def app_alerts(request: Request) -> AlertsView:
    """The running app's monitor runtime (``app.state.services.runtime``)."""
    view: AlertsView = request.app.state.services.runtime
    return view
