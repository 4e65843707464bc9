"""Slack incoming webhook: one Block Kit message per batch.

The message has a header (``[FIRING:2] checkout-latency``), one section per alert with the
metric, value, baseline, bounds and segment as fields, and a button linking to the
pre-filtered view. Block Kit limits are kept: at most 50 blocks (alerts past the cap are
summarised in a context block), header text ≤ 150 characters, section fields ≤ 10 and each
≤ 2000 characters, button text ≤ 75 and URL ≤ 3000. Slack answers ``200 ok`` on success,
a 4xx with a short error code (``invalid_blocks``, ``no_service``, ...) that retrying cannot
fix, and 429 with ``Retry-After`` when rate-limited.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx
import orjson

from llmpulse.alerts.notifiers.base import Alert, AlertBatch, AlertStatus, Delivery, fmt_number
from llmpulse.alerts.notifiers.http import RetryPolicy, Sleep, post_with_retries
from llmpulse.clock import Clock

MAX_BLOCKS = 50
MAX_ALERT_SECTIONS = 40


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(name: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(f"*{name}*\n{value}", 2000)}


def _bounds(alert: Alert) -> str:
    return f"[{fmt_number(alert.lower)}, {fmt_number(alert.upper)}]"


def _alert_section(alert: Alert) -> dict[str, Any]:
    segment = ", ".join(f"{k}={v}" for k, v in sorted(alert.segment.items())) or "all"
    summary = alert.annotations.get("summary") or alert.labels.get("alertname", "alert")
    icon = ":red_circle:" if alert.status is AlertStatus.FIRING else ":large_green_circle:"
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _cut(f"{icon} {summary}", 3000)},
        "fields": [
            _field("Metric", alert.labels.get("metric", alert.labels.get("alertname", "?"))),
            _field("Value", fmt_number(alert.value)),
            _field("Baseline", fmt_number(alert.baseline)),
            _field("Bounds", _bounds(alert)),
            _field("Segment", segment),
            _field("Status", alert.status.value),
        ],
    }


def slack_message(batch: AlertBatch) -> dict[str, Any]:
    """Return the Block Kit message for ``batch`` (the body of an incoming-webhook POST)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(batch.title, 150)}}
    ]
    shown = batch.alerts[:MAX_ALERT_SECTIONS]
    blocks.extend(_alert_section(a) for a in shown)
    if len(batch.alerts) > len(shown):
        more = len(batch.alerts) - len(shown)
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {more} more"}]}
        )
    link = batch.link_url or next((a.url for a in batch.alerts if a.url), "")
    if link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in llmpulse"},
                        "url": _cut(link, 3000),
                    }
                ],
            }
        )
    return {"text": batch.title, "blocks": blocks[:MAX_BLOCKS]}


class SlackNotifier:
    """Posts each batch to a Slack incoming-webhook URL."""

    kind: ClassVar[str] = "slack"

    def __init__(
        self,
        webhook_url: str,
        *,
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Configure the notifier.

        Args:
            webhook_url: The incoming-webhook URL (a secret: take it from the environment).
            retry: Retry policy for 429/5xx and transport errors.
            client: An HTTP client to reuse.
            clock: Time source for HTTP-date ``Retry-After``.
            sleep: How to wait between attempts.
        """
        self.webhook_url = webhook_url
        self.retry = retry or RetryPolicy()
        self._client = client
        self._clock = clock
        self._sleep = sleep

    async def send(self, batch: AlertBatch) -> Delivery:
        """Post the message; retry 429/5xx; never raise for HTTP failures."""
        return await post_with_retries(
            self.webhook_url,
            orjson.dumps(slack_message(batch)),
            {"Content-Type": "application/json"},
            policy=self.retry,
            client=self._client,
            clock=self._clock,
            sleep=self._sleep,
        )
