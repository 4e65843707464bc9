"""PagerDuty Events API v2: a firing batch triggers, a resolved batch resolves.

Both events carry the same ``dedup_key``, derived from the batch's stable group key (the key
itself when it fits PagerDuty's 255 characters, else its SHA-256), so a resolve closes the
alert its trigger opened and repeated triggers update it rather than open new ones. A trigger
carries ``payload`` (``summary`` ≤ 1024 characters, ``source``, ``severity`` from the alerts'
``severity`` label mapped onto critical/error/warning/info, ``timestamp``, ``component``,
``group``, ``class``, ``custom_details`` with each alert's evidence), ``links`` to the
pre-filtered view, ``client`` and ``client_url``. PagerDuty answers 202 with
``{"status": "success", "dedup_key": ...}``; 400 means the event is invalid (not retryable);
429 and 5xx are retried.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, ClassVar

import httpx
import orjson

from llmpulse.alerts.notifiers.base import AlertBatch, AlertStatus, Delivery, fmt_number
from llmpulse.alerts.notifiers.http import RetryPolicy, Sleep, post_with_retries
from llmpulse.alerts.notifiers.webhook import rfc3339
from llmpulse.clock import Clock, SystemClock

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITIES = ("critical", "error", "warning", "info")
_SEVERITY_ALIASES = {"page": "critical", "high": "error", "medium": "warning", "low": "info"}


def dedup_key(group_key: str) -> str:
    """Return the PagerDuty dedup key of a group: the key itself if ≤ 255 chars, else a hash."""
    if 0 < len(group_key) <= 255:
        return group_key
    return hashlib.sha256(group_key.encode()).hexdigest()


def severity(batch: AlertBatch) -> str:
    """Return the most severe PagerDuty severity among the firing alerts (default ``error``)."""
    found: list[str] = []
    for alert in batch.firing or batch.alerts:
        raw = alert.labels.get("severity", "").lower()
        mapped = _SEVERITY_ALIASES.get(raw, raw)
        if mapped in SEVERITIES:
            found.append(mapped)
    return min(found, key=SEVERITIES.index) if found else "error"


def _summary(batch: AlertBatch) -> str:
    first = batch.firing[0] if batch.firing else batch.alerts[0]
    text = first.annotations.get("summary") or (
        f"{batch.title}: value {fmt_number(first.value)}, baseline {fmt_number(first.baseline)}"
    )
    return text if len(text) <= 1024 else text[:1023] + "…"


def pagerduty_event(
    batch: AlertBatch, routing_key: str, source: str, now_rfc3339: str
) -> dict[str, Any]:
    """Return the Events API v2 event for ``batch`` (trigger or resolve)."""
    key = dedup_key(batch.group_key)
    if batch.status is AlertStatus.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key}
    common = batch.common_labels
    details = {
        "group_key": batch.group_key,
        "firing": len(batch.firing),
        "resolved": len(batch.resolved),
        "alerts": [
            {
                "labels": dict(a.labels),
                "value": a.value,
                "baseline": a.baseline,
                "lower": a.lower,
                "upper": a.upper,
                "starts_at": rfc3339(a.starts_at),
            }
            for a in batch.firing
        ],
    }
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key,
        "client": "llmpulse",
        "payload": {
            "summary": _summary(batch),
            "source": source,
            "severity": severity(batch),
            "timestamp": now_rfc3339,
            "component": common.get("monitor", common.get("alertname", "llmpulse")),
            "group": common.get("project", "llmpulse"),
            "class": common.get("metric", "anomaly"),
            "custom_details": details,
        },
    }
    if batch.external_url:
        event["client_url"] = batch.external_url
    if batch.link_url:
        event["links"] = [{"href": batch.link_url, "text": "Open in llmpulse"}]
    return event


class PagerDutyNotifier:
    """Sends trigger and resolve events to the PagerDuty Events API v2."""

    kind: ClassVar[str] = "pagerduty"

    def __init__(
        self,
        routing_key: str,
        *,
        url: str = EVENTS_URL,
        source: str = "llmpulse",
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Configure the notifier.

        Args:
            routing_key: The integration's 32-character routing key (a secret).
            url: The events endpoint (PagerDuty's by default).
            source: ``payload.source``: the system the alerts are about.
            retry: Retry policy for 429/5xx and transport errors.
            client: An HTTP client to reuse.
            clock: Time source for the event timestamp and HTTP-date ``Retry-After``.
            sleep: How to wait between attempts.
        """
        self.routing_key = routing_key
        self.url = url
        self.source = source
        self.retry = retry or RetryPolicy()
        self._client = client
        self._clock = clock or SystemClock()
        self._sleep = sleep

    async def send(self, batch: AlertBatch) -> Delivery:
        """Send the trigger or resolve event; 202 is delivered, 400 is final, 429/5xx retried."""
        event = pagerduty_event(batch, self.routing_key, self.source, rfc3339(self._clock.now()))
        return await post_with_retries(
            self.url,
            orjson.dumps(event),
            {"Content-Type": "application/json"},
            policy=self.retry,
            client=self._client,
            clock=self._clock,
            sleep=self._sleep,
        )
