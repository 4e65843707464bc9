"""Generic webhook: JSON body, HMAC-SHA256 signature, retries; optional Alertmanager payload.

Two payload formats:

- ``llmpulse`` (default): the batch with each alert's evidence (value, baseline, bounds).
- ``alertmanager``: Alertmanager's ``webhook_config`` JSON, ``"version": "4"``, so receivers
  written for Alertmanager (and tools that accept its webhook) work unchanged. The evidence
  goes into annotations (``value``, ``baseline``, ``lower``, ``upper``) as strings.

When a secret is set, the header ``X-Llmpulse-Signature: sha256=<hex>`` carries
HMAC-SHA256(secret, body) over the exact body bytes; a receiver recomputes it and compares in
constant time (`verify_signature`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
import orjson

from llmpulse.alerts.notifiers.base import Alert, AlertBatch, Delivery
from llmpulse.alerts.notifiers.http import RetryPolicy, Sleep, post_with_retries
from llmpulse.clock import Clock

SIGNATURE_HEADER = "X-Llmpulse-Signature"
ZERO_TIME = "0001-01-01T00:00:00Z"
WebhookFormat = Literal["llmpulse", "alertmanager"]


def sign(secret: str, body: bytes) -> str:
    """Return the signature header value for ``body``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Return whether ``header`` is the signature of ``body`` under ``secret``."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def rfc3339(t: datetime | None) -> str:
    """Format an instant the way Alertmanager does; ``None`` is Go's zero time."""
    if t is None:
        return ZERO_TIME
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _evidence(alert: Alert) -> dict[str, str]:
    fields = {"value": alert.value, "baseline": alert.baseline}
    fields |= {"lower": alert.lower, "upper": alert.upper}
    return {k: repr(v) for k, v in fields.items() if v is not None}


def alertmanager_payload(batch: AlertBatch, max_alerts: int = 0) -> dict[str, Any]:
    """Return the batch as Alertmanager's webhook JSON (version 4).

    Args:
        batch: The batch to render.
        max_alerts: Send at most this many alerts (0 = all); the rest are counted in
            ``truncatedAlerts``, as Alertmanager's ``max_alerts`` does.
    """
    alerts = list(batch.alerts)
    kept = alerts[:max_alerts] if max_alerts > 0 else alerts
    return {
        "version": "4",
        "groupKey": batch.group_key,
        "truncatedAlerts": len(alerts) - len(kept),
        "status": batch.status.value,
        "receiver": batch.receiver,
        "groupLabels": dict(batch.group_labels),
        "commonLabels": batch.common_labels,
        "commonAnnotations": batch.common_annotations,
        "externalURL": batch.external_url,
        "alerts": [
            {
                "status": a.status.value,
                "labels": dict(a.labels),
                "annotations": {**a.annotations, **_evidence(a)},
                "startsAt": rfc3339(a.starts_at),
                "endsAt": rfc3339(a.ends_at),
                "generatorURL": a.url or batch.link_url,
                "fingerprint": a.fingerprint,
            }
            for a in kept
        ],
    }


def llmpulse_payload(batch: AlertBatch) -> dict[str, Any]:
    """Return the batch in llmpulse's own webhook JSON (numbers stay numbers)."""
    return {
        "version": "1",
        "groupKey": batch.group_key,
        "status": batch.status.value,
        "receiver": batch.receiver,
        "groupLabels": dict(batch.group_labels),
        "commonLabels": batch.common_labels,
        "url": batch.link_url,
        "alerts": [
            {
                "status": a.status.value,
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "value": a.value,
                "baseline": a.baseline,
                "bounds": {"lower": a.lower, "upper": a.upper},
                "startsAt": rfc3339(a.starts_at),
                "endsAt": None if a.ends_at is None else rfc3339(a.ends_at),
                "fingerprint": a.fingerprint,
                "url": a.url or batch.link_url,
            }
            for a in batch.alerts
        ],
    }


class WebhookNotifier:
    """POSTs each batch as JSON to one URL, signed when a secret is set."""

    kind: ClassVar[str] = "webhook"

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        payload_format: WebhookFormat = "llmpulse",
        max_alerts: int = 0,
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Configure the webhook.

        Args:
            url: Where to POST.
            secret: Shared secret for the HMAC-SHA256 signature header (none = unsigned).
            payload_format: ``llmpulse`` or ``alertmanager`` (webhook_config, version 4).
            max_alerts: Alertmanager format only: cap on alerts per message (0 = no cap).
            retry: Retry policy for 408/429/5xx and transport errors.
            client: An HTTP client to reuse.
            clock: Time source for HTTP-date ``Retry-After``.
            sleep: How to wait between attempts.
        """
        self.url = url
        self.secret = secret
        self.payload_format: WebhookFormat = payload_format
        self.max_alerts = max_alerts
        self.retry = retry or RetryPolicy()
        self._client = client
        self._clock = clock
        self._sleep = sleep

    def render(self, batch: AlertBatch) -> bytes:
        """Return the exact body bytes for ``batch``."""
        if self.payload_format == "alertmanager":
            return orjson.dumps(alertmanager_payload(batch, self.max_alerts))
        return orjson.dumps(llmpulse_payload(batch))

    async def send(self, batch: AlertBatch) -> Delivery:
        """POST the batch; retry per the policy; never raise for HTTP failures."""
        body = self.render(batch)
        headers = {"Content-Type": "application/json", "User-Agent": "llmpulse-notifier"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        return await post_with_retries(
            self.url,
            body,
            headers,
            policy=self.retry,
            client=self._client,
            clock=self._clock,
            sleep=self._sleep,
        )


__all__ = [
    "SIGNATURE_HEADER",
    "WebhookNotifier",
    "alertmanager_payload",
    "llmpulse_payload",
    "sign",
    "verify_signature",
]
