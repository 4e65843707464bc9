"""The notifier contract: an `AlertBatch` in, a `Delivery` out (STYLE.md Part 2, shape 9).

An `AlertBatch` is one notification for one alert group (the Alertmanager notion): a stable
group key, the group's status and the alerts it holds, each with its evidence (value,
baseline, bounds) and a link to the pre-filtered view. A `Notifier` turns a batch into one
service's wire format and reports a `Delivery`: whether it landed, and if not whether trying
again may help and when (`retry_after_s`, from the service's own `Retry-After` when it gives
one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import ClassVar, Protocol


class AlertStatus(StrEnum):
    """Status of an alert or of a whole batch (a batch fires while any alert fires)."""

    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert series in a batch, with the evidence of its last evaluation.

    Attributes:
        labels: Identity of the series (``alertname``, ``monitor``, segment labels, ``severity``).
        annotations: Free text for people (``summary``, ``description``, ``runbook_url``).
        status: Firing or resolved.
        starts_at: When the alert started firing.
        ends_at: When it resolved; ``None`` while firing.
        value: The metric value that was evaluated.
        baseline: The detector's baseline for that value.
        lower: Lower bound of the normal band (``None`` if one-sided).
        upper: Upper bound of the normal band (``None`` if one-sided).
        url: Link to the pre-filtered view of this series.
    """

    labels: Mapping[str, str]
    status: AlertStatus
    starts_at: datetime
    annotations: Mapping[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    value: float | None = None
    baseline: float | None = None
    lower: float | None = None
    upper: float | None = None
    url: str = ""

    @property
    def fingerprint(self) -> str:
        """Return a stable 16-hex-digit id of the label set (order-independent)."""
        text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def segment(self) -> dict[str, str]:
        """Return the labels that are not the monitor's own (the fan-out segment)."""
        own = {"alertname", "monitor", "severity", "project", "metric"}
        return {k: v for k, v in self.labels.items() if k not in own}


@dataclass(frozen=True, slots=True)
class AlertBatch:
    """One notification for one alert group.

    Attributes:
        group_key: Stable key of the group; reused as PagerDuty's ``dedup_key``.
        receiver: Name of the receiver the batch is for.
        alerts: The alerts of the group, firing and resolved.
        group_labels: The labels the group was formed by.
        link_url: Link to the pre-filtered view of the whole group.
        external_url: Base URL of the llmpulse server that sent it.
    """

    group_key: str
    receiver: str
    alerts: tuple[Alert, ...]
    group_labels: Mapping[str, str] = field(default_factory=dict)
    link_url: str = ""
    external_url: str = ""

    @property
    def status(self) -> AlertStatus:
        """Return firing while any alert fires, else resolved."""
        firing = any(a.status is AlertStatus.FIRING for a in self.alerts)
        return AlertStatus.FIRING if firing else AlertStatus.RESOLVED

    @property
    def firing(self) -> tuple[Alert, ...]:
        """Return the firing alerts."""
        return tuple(a for a in self.alerts if a.status is AlertStatus.FIRING)

    @property
    def resolved(self) -> tuple[Alert, ...]:
        """Return the resolved alerts."""
        return tuple(a for a in self.alerts if a.status is AlertStatus.RESOLVED)

    @property
    def common_labels(self) -> dict[str, str]:
        """Return the labels every alert of the batch shares."""
        return _common([a.labels for a in self.alerts])

    @property
    def common_annotations(self) -> dict[str, str]:
        """Return the annotations every alert of the batch shares."""
        return _common([a.annotations for a in self.alerts])

    @property
    def title(self) -> str:
        """Return a one-line title, e.g. ``[FIRING:2] checkout-latency``."""
        name = self.common_labels.get("alertname") or self.group_key
        count = len(self.firing) if self.status is AlertStatus.FIRING else len(self.alerts)
        return f"[{self.status.value.upper()}:{count}] {name}"


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one `Notifier.send`.

    Attributes:
        ok: The service accepted the notification.
        retryable: It was not accepted, and sending it again later may succeed.
        retry_after_s: How long to wait before trying again, when known.
        detail: What the service said (status and body), for the notification log.
        attempts: How many requests the notifier made.
    """

    ok: bool
    retryable: bool = False
    retry_after_s: float | None = None
    detail: str = ""
    attempts: int = 1


class Notifier(Protocol):
    """Something that delivers an `AlertBatch` to one service."""

    kind: ClassVar[str]

    async def send(self, batch: AlertBatch) -> Delivery:
        """Deliver ``batch`` and report the outcome (never raises for service errors)."""
        ...


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Parse a ``Retry-After`` header (delay-seconds or HTTP-date) into seconds from ``now``.

    Args:
        value: The header value, or ``None`` if absent.
        now: The current instant (timezone-aware), for the HTTP-date form.

    Returns:
        Seconds to wait (never negative), or ``None`` if absent or unparseable.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def fmt_number(x: float | None) -> str:
    """Format a metric value for people: ``None`` as an em dash, else 4 significant digits."""
    if x is None:
        return "—"
    return f"{x:.4g}"
