"""Grouping: alerts of one route split by their `group_by` labels, deduplicated by fingerprint."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from llmpulse.alerts.matchers import LabelSet
from llmpulse.alerts.model import Alert
from llmpulse.alerts.routing import Route, RouteOpts


def group_labels(opts: RouteOpts, labels: LabelSet) -> dict[str, str]:
    """Return the grouping labels of ``labels`` under ``opts`` (absent labels are left out)."""
    if opts.group_by_all:
        return dict(labels)
    return {name: labels[name] for name in opts.group_by if name in labels}


def group_key(route: Route, labels: Mapping[str, str]) -> str:
    """Return the group's stable key: route key plus sorted group labels, hashed.

    The same route and group labels always give the same key (across processes and
    restarts), so it can serve as the PagerDuty dedup key.
    """
    pairs = ",".join(f"{k}={v!r}" for k, v in sorted(labels.items()))
    return hashlib.sha256(f"{route.key}:{{{pairs}}}".encode()).hexdigest()[:32]


@dataclass
class AlertGroup:
    """The alerts of one route that share the grouping labels.

    Attributes:
        key: Stable group key (`group_key`).
        route: The route node the group belongs to.
        labels: The grouping labels.
        created_at: When the group's first alert arrived (start of group_wait).
        alerts: Current alerts by fingerprint (one per series).
    """

    key: str
    route: Route
    labels: Mapping[str, str]
    created_at: datetime
    alerts: dict[str, Alert] = field(default_factory=dict)

    def add(self, alert: Alert) -> None:
        """Insert or update an alert; a repeated fingerprint updates the existing series."""
        known = self.alerts.get(alert.fingerprint)
        self.alerts[alert.fingerprint] = alert if known is None else known.merge(alert)

    def firing(self, now: datetime) -> dict[str, Alert]:
        """Alerts not resolved at ``now``, by fingerprint."""
        return {fp: a for fp, a in self.alerts.items() if not a.resolved(now)}

    def resolved(self, now: datetime) -> dict[str, Alert]:
        """Alerts resolved at ``now``, by fingerprint."""
        return {fp: a for fp, a in self.alerts.items() if a.resolved(now)}


def group_alerts(
    root: Route,
    alerts: Iterable[Alert],
    now: datetime,
    groups: dict[str, AlertGroup] | None = None,
) -> dict[str, AlertGroup]:
    """Route each alert and add it to its groups, creating groups at ``now`` as needed.

    Args:
        root: The routing tree.
        alerts: Incoming alerts (repeats of a fingerprint update that series).
        now: Arrival time; a new group's `created_at`.
        groups: Existing groups to extend (updated in place and returned).

    Returns:
        Groups by key.
    """
    out = groups if groups is not None else {}
    for alert in alerts:
        for route in root.match(alert.labels):
            labels = group_labels(route.opts, alert.labels)
            key = group_key(route, labels)
            group = out.get(key)
            if group is None:
                group = out[key] = AlertGroup(key, route, labels, now)
            group.add(alert)
    return out
