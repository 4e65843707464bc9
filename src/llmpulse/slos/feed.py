"""`SloAlertFeed`: what the monitor scheduler calls once per cycle for SLO alerts.

Each tick evaluates every project's SLOs (`SloService.evaluate_slos`, one store query per
project) and reports the burn-rate alerts as the alert pipeline takes them: those firing now
(``ends_at`` None, ``starts_at`` when the rule's current run began) and, once, those that
fired at the previous tick and no longer do (``ends_at`` = now), so receivers hear of the
resolution. The previous firing set is kept in memory; after a restart an alert that
resolved meanwhile is closed by the pipeline's resolve timeout instead.

Wiring (one line in the scheduler's cycle): ``for project, alerts in (await
feed.tick(now)).by_project().items(): await pipeline.receive_alerts(project, alerts, now)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from llmpulse.alerts.model import Alert
from llmpulse.slos.evaluate import SloStatus
from llmpulse.slos.service import SloService


@dataclass(frozen=True)
class SloTick:
    """One tick: alerts to hand to the pipeline (firing and just resolved), and statuses."""

    at: datetime
    alerts: list[Alert]
    statuses: list[SloStatus]

    def by_project(self) -> dict[str, list[Alert]]:
        """The alerts grouped by their ``project`` label."""
        out: dict[str, list[Alert]] = {}
        for a in self.alerts:
            out.setdefault(a.labels["project"], []).append(a)
        return out


class SloAlertFeed:
    """Evaluates SLOs per tick and reports firing and newly resolved burn-rate alerts."""

    def __init__(self, slos: SloService) -> None:
        self._slos = slos
        self._firing: dict[str, Alert] = {}

    async def tick(self, now: datetime) -> SloTick:
        """Evaluate every project's SLOs at ``now``."""
        alerts: list[Alert] = []
        statuses: list[SloStatus] = []
        for project in await self._slos.projects():
            cycle = await self._slos.evaluate_slos(project, now)
            alerts.extend(cycle.alerts)
            statuses.extend(cycle.statuses)
        firing = {a.fingerprint: a for a in alerts}
        resolved = [
            replace(a, ends_at=max(now, a.starts_at))
            for fp, a in self._firing.items()
            if fp not in firing
        ]
        self._firing = firing
        return SloTick(now, [*alerts, *resolved], statuses)
