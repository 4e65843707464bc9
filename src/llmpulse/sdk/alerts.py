"""Alerts at runtime as `Client` methods (`AlertsMixin`): current alerts, incidents,
notifications, and monitor backtests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmpulse.sdk.query_params import project_path, to_time
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


class AlertsMixin(Requester):
    """`list_alerts`, `list_incidents`, `list_notifications`, `backtest_monitor`."""

    def list_alerts(self, project: str, status: str | None = None) -> list[JsonDict]:
        """Every alert series of the project's monitors (optionally in one status)."""
        params = {"status": status} if status else None
        return list(self.request("GET", project_path(project, "alerts"), params=params)["data"])

    def list_incidents(
        self,
        project: str,
        *,
        monitor: str | None = None,
        state: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int = 200,
    ) -> list[JsonDict]:
        """Alert history (status changes with evidence), newest first."""
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("monitor", monitor), ("state", state)):
            if value is not None:
                params[key] = value
        for key, t in (("start", start), ("end", end)):
            if t is not None:
                params[key] = to_time(t)
        path = project_path(project, "incidents")
        return list(self.request("GET", path, params=params)["data"])

    def list_notifications(
        self, project: str, receiver: str | None = None, limit: int = 200
    ) -> list[JsonDict]:
        """The notification log (receiver, status, attempts, error), newest first."""
        params: dict[str, Any] = {"limit": limit}
        if receiver is not None:
            params["receiver"] = receiver
        path = project_path(project, "notifications")
        return list(self.request("GET", path, params=params)["data"])

    def backtest_monitor(
        self, project: str, manifest: JsonDict, start: datetime | str, end: datetime | str
    ) -> JsonDict:
        """Run a ``kind: Monitor`` manifest over history: ``alerts`` it would have fired
        (start, end, labels, value, baseline, bounds) and every evaluation (``series``)."""
        params = {"start": to_time(start), "end": to_time(end)}
        path = project_path(project, "monitors/backtest")
        body: JsonDict = self.request("POST", path, json=manifest, params=params)
        return body
