"""The dispatcher: alert-series transitions → route → group → mute → dedupe → notify → log.

The scheduler hands it every transition (`monitors.scheduler.SeriesChange`). A series that
starts firing becomes an alert; one that leaves firing (resolved, no data, error) ends it.
Alerts are routed and grouped (`grouping.group_alerts`), and on each `flush` every group
whose flush tick has come is checked against silences and inhibition (`muting.muted`) and the
notification log (`notify.should_notify`: group_wait, group_interval, repeat_interval,
resolved notifications) and, when due, sent to its receiver's notifier, which retries with
back-off. Every attempt's outcome goes to the notification log in the state store; groups
and their alerts are stored too, so a restart neither drops nor repeats a notification.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from llmpulse.alerts.grouping import AlertGroup, group_alerts
from llmpulse.alerts.model import Alert
from llmpulse.alerts.muting import muted
from llmpulse.alerts.notifiers.base import Alert as NotifiedAlert
from llmpulse.alerts.notifiers.base import AlertBatch, AlertStatus
from llmpulse.alerts.notify import LogEntry, NotificationLog, should_notify
from llmpulse.alerts.routing import Route
from llmpulse.alerts.source import RoutingConfig, RoutingSource
from llmpulse.clock import Clock
from llmpulse.monitors.scheduler import SeriesChange
from llmpulse.monitors.states import AlertStatus as SeriesStatus
from llmpulse.store.alerts_api import AlertStore, GroupRow, NotificationRow

log = logging.getLogger(__name__)


@dataclass
class DispatchCounters:
    """Notifications sent and failed since start (for Prometheus)."""

    sent: int = 0
    failed: int = 0
    attempts: int = 0


def _alert(change: SeriesChange) -> Alert | None:
    """The pipeline's alert for a transition; None when the series neither fires nor stops."""
    tr, ev = change.transition, change.transition.evidence
    notes = {
        "value": "" if ev.value is None else repr(ev.value),
        "baseline": "" if ev.baseline is None else repr(ev.baseline),
        "lower": "" if ev.lower is None else repr(ev.lower),
        "upper": "" if ev.upper is None else repr(ev.upper),
        "metric": change.spec.metric,
        "summary": f"{change.spec.name}: {change.spec.metric} {tr.reason}",
    }
    if tr.to_status is SeriesStatus.FIRING:
        return Alert(change.labels, tr.at, None, notes)
    if tr.from_status is SeriesStatus.FIRING:
        start = change.state.fired_at or tr.at
        return Alert(change.labels, min(start, tr.at), tr.at, notes)
    return None


def _num(text: str) -> float | None:
    return float(text) if text else None


def _notified(a: Alert, now: datetime, link: str) -> NotifiedAlert:
    n = a.annotations
    status = AlertStatus.RESOLVED if a.resolved(now) else AlertStatus.FIRING
    return NotifiedAlert(
        labels={**a.labels, "metric": n.get("metric", "")},
        status=status,
        starts_at=a.starts_at,
        annotations={"summary": n.get("summary", "")},
        ends_at=a.ends_at,
        value=_num(n.get("value", "")),
        baseline=_num(n.get("baseline", "")),
        lower=_num(n.get("lower", "")),
        upper=_num(n.get("upper", "")),
        url=link,
    )


def _dump(group: AlertGroup) -> str:
    """The stored group: its route node's key (to rebuild it), group labels and alerts."""
    alerts = [
        {
            "labels": dict(a.labels),
            "starts_at": a.starts_at.isoformat(),
            "ends_at": None if a.ends_at is None else a.ends_at.isoformat(),
            "annotations": dict(a.annotations),
        }
        for a in group.alerts.values()
    ]
    return json.dumps({"route": group.route.key, "labels": dict(group.labels), "alerts": alerts})


def _load(text: str) -> tuple[str, dict[str, str], list[Alert]]:
    d = json.loads(text)
    alerts = [
        Alert(
            a["labels"],
            datetime.fromisoformat(a["starts_at"]),
            None if a["ends_at"] is None else datetime.fromisoformat(a["ends_at"]),
            a.get("annotations", {}),
        )
        for a in d["alerts"]
    ]
    return str(d["route"]), dict(d["labels"]), alerts


class Dispatcher:
    """Routes, groups, mutes, dedupes and delivers alerts; logs every notification."""

    def __init__(
        self, source: RoutingSource, store: AlertStore, clock: Clock, external_url: str = ""
    ) -> None:
        """Create a dispatcher (``external_url``: this server's base URL, for links)."""
        self._source = source
        self._store = store
        self._clock = clock
        self._external = external_url.rstrip("/")
        self._groups: dict[str, dict[str, AlertGroup]] | None = None
        self._lock = asyncio.Lock()
        self.counters = DispatchCounters()

    async def _all(self) -> dict[str, dict[str, AlertGroup]]:
        if self._groups is None:
            self._groups = {}
            for row in await asyncio.to_thread(self._store.groups):
                cfg = await self._source.routing_config(row.project)
                route_key, labels, alerts = _load(row.alerts)
                route = None if cfg is None else _route_by_key(cfg).get(route_key)
                if route is None:
                    continue
                group = AlertGroup(row.group_key, route, labels, row.created_at)
                for a in alerts:
                    group.add(a)
                self._groups.setdefault(row.project, {})[row.group_key] = group
        return self._groups

    async def receive(self, changes: list[SeriesChange], at: datetime) -> None:
        """Take one evaluation's transitions into the groups, then flush what is due."""
        by_project: dict[str, list[Alert]] = {}
        for change in changes:
            alert = _alert(change)
            if alert is not None:
                by_project.setdefault(change.spec.project, []).append(alert)
        await self.receive_alerts(by_project, at)

    async def receive_alerts(self, by_project: dict[str, list[Alert]], at: datetime) -> None:
        """Take ready-made alerts (e.g. SLO burn-rate alerts) into the groups, then flush."""
        async with self._lock:
            groups = await self._all()
            for project, alerts in by_project.items():
                cfg = await self._source.routing_config(project)
                if cfg is None or not alerts:
                    continue
                mine = groups.setdefault(project, {})
                group_alerts(cfg.route, alerts, at, mine)
                for key in mine:
                    await self._save(project, mine[key])
        await self.flush(at)

    async def _save(self, project: str, group: AlertGroup) -> None:
        row = GroupRow(
            group.route.opts.receiver, group.key, project, group.created_at, _dump(group)
        )
        await asyncio.to_thread(self._store.put_group, row)

    async def flush(self, now: datetime) -> int:
        """Send every group whose flush tick has come and that needs telling; return sends."""
        sent = 0
        async with self._lock:
            groups = await self._all()
            for project, mine in groups.items():
                cfg = await self._source.routing_config(project)
                if cfg is None:
                    continue
                pool = [a for g in mine.values() for a in g.alerts.values()]
                for key in list(mine):
                    sent += await self._flush_group(project, cfg, mine, key, pool, now)
        return sent

    async def _flush_group(
        self,
        project: str,
        cfg: RoutingConfig,
        mine: dict[str, AlertGroup],
        key: str,
        pool: list[Alert],
        now: datetime,
    ) -> int:
        group = mine[key]
        receiver = group.route.opts.receiver
        last = await asyncio.to_thread(self._store.last_sent, receiver, key)
        book = NotificationLog()
        if last is not None:
            book.record(
                LogEntry(receiver, key, last.at, frozenset(last.firing), frozenset(last.resolved))
            )
        mute = muted(group, cfg.silences, cfg.inhibit_rules, pool, now)
        decision = should_notify(group, book, now, mute)
        if not decision.notify or decision.tick is None:
            return 0
        alerts = [group.alerts[fp] for fp in sorted(decision.firing | decision.resolved)]
        link = f"{self._external}/ui/projects/{project}/incidents"
        batch = AlertBatch(
            key, receiver, tuple(_notified(a, decision.tick, link) for a in alerts),
            dict(group.labels), link, self._external,
        )  # fmt: skip
        notifier = cfg.receivers.get(receiver)
        if notifier is None:
            ok, attempts, detail = False, 0, f"no receiver named {receiver!r}"
        else:
            delivery = await notifier.send(batch)
            ok, attempts, detail = delivery.ok, delivery.attempts, delivery.detail
        names = tuple(sorted({a.labels.get("alertname", "") for a in alerts}))
        row = NotificationRow(
            project, receiver, key, decision.tick if ok else now, "sent" if ok else "failed",
            attempts, "" if ok else detail, tuple(sorted(decision.firing)),
            tuple(sorted(decision.resolved)), names,
        )  # fmt: skip
        await asyncio.to_thread(self._store.add_notification, row)
        self.counters.attempts += attempts
        if not ok:
            self.counters.failed += 1
            log.warning("notification to %s failed: %s", receiver, detail)
            return 0
        self.counters.sent += 1
        for fp in decision.resolved:  # told: a resolved alert leaves its group
            group.alerts.pop(fp, None)
        if not group.alerts:
            del mine[key]
            await asyncio.to_thread(self._store.delete_group, receiver, key)
        else:
            await self._save(project, group)
        return 1


def _route_by_key(cfg: RoutingConfig) -> dict[str, Route]:
    return {r.key: r for r in cfg.route.walk()}
