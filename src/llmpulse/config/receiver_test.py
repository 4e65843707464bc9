"""A test notification: one made-up firing alert sent through a receiver's real notifier.

The alert is labelled ``alertname=llmpulse-test`` and ``severity=info`` so that routing and
people can tell it apart; a test makes one attempt (no retries), so the answer comes quickly
and says exactly what the service replied.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from llmpulse.alerts.notifiers import Alert, AlertBatch, AlertStatus, Delivery, RetryPolicy
from llmpulse.config.receiver_kind import build_notifier
from llmpulse.config.resources import Resource

TEST_ALERTNAME = "llmpulse-test"
_ONE_TRY = RetryPolicy(attempts=1, timeout_s=10.0)


def test_batch(receiver: str, now: datetime) -> AlertBatch:
    """The batch a test notification sends."""
    labels = {"alertname": TEST_ALERTNAME, "severity": "info", "receiver": receiver}
    alert = Alert(
        labels=labels,
        status=AlertStatus.FIRING,
        starts_at=now,
        annotations={"summary": f"Test notification from llmpulse to receiver {receiver}"},
        value=1.0,
        baseline=0.0,
    )
    key = f"llmpulse-test/{receiver}/{now.isoformat()}"
    return AlertBatch(group_key=key, receiver=receiver, alerts=(alert,), group_labels=labels)


async def send_test(resource: Resource, env: Mapping[str, str], now: datetime) -> Delivery:
    """Send a test notification through the receiver (never raises for service errors).

    Raises:
        InvalidInput: a secret's environment variable is not set on the server.
    """
    notifier = build_notifier(resource, env, _ONE_TRY)
    return await notifier.send(test_batch(resource.name, now))
