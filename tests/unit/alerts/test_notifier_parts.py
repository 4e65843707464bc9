"""Pure parts of the notifiers: Retry-After parsing, back-off, severity, dedup key, docs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmpulse.alerts.notifiers import (
    Alert,
    AlertBatch,
    AlertStatus,
    EmailNotifier,
    PagerDutyNotifier,
    RetryPolicy,
    SlackNotifier,
    WebhookNotifier,
)
from llmpulse.alerts.notifiers.base import parse_retry_after
from llmpulse.alerts.notifiers.pagerduty import dedup_key, severity
from llmpulse.alerts.notifiers.webhook import sign, verify_signature

NOW = datetime(2026, 11, 14, 9, 30, tzinfo=UTC)
DOCS = Path(__file__).parents[3] / "docs" / "reference" / "notifiers.md"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Sat, 14 Nov 2026 09:31:00 GMT", 60.0),
        ("Sat, 14 Nov 2026 09:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_is_parsed_in_both_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_backoff_doubles_honours_retry_after_and_is_capped() -> None:
    p = RetryPolicy(base_delay_s=0.5, max_delay_s=5)
    assert [p.delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 5]
    assert p.delay(1, 3.0) == 3.0
    assert p.delay(4, 1.0) == 4.0
    assert p.delay(1, 600.0) == 5


def _batch(*severities: str) -> AlertBatch:
    alerts = tuple(
        Alert(
            labels={"alertname": "a", "severity": s, "n": str(i)},
            status=AlertStatus.FIRING,
            starts_at=NOW,
        )
        for i, s in enumerate(severities)
    )
    return AlertBatch(group_key="g", receiver="r", alerts=alerts)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (("warning", "critical"), "critical"),
        (("info", "page"), "critical"),
        (("low",), "info"),
        (("x",), "error"),
    ],
)
def test_pagerduty_severity_is_the_most_severe_known(
    labels: tuple[str, ...], expected: str
) -> None:
    assert severity(_batch(*labels)) == expected


def test_dedup_key_is_stable_and_fits_255() -> None:
    assert dedup_key("abc") == "abc"
    long = "k" * 300
    assert dedup_key(long) == dedup_key(long)
    assert len(dedup_key(long)) == 64
    assert dedup_key(long) != dedup_key(long + "x")


def test_signature_round_trip_and_tamper() -> None:
    body = b'{"a":1}'
    assert verify_signature("s", body, sign("s", body))
    assert not verify_signature("s", body + b" ", sign("s", body))
    assert not verify_signature("t", body, sign("s", body))
    assert not verify_signature("s", body, None)


def test_fingerprint_ignores_label_order_and_batch_status_follows_alerts() -> None:
    a = Alert(labels={"x": "1", "y": "2"}, status=AlertStatus.RESOLVED, starts_at=NOW)
    b = Alert(labels={"y": "2", "x": "1"}, status=AlertStatus.FIRING, starts_at=NOW)
    assert a.fingerprint == b.fingerprint
    assert AlertBatch("g", "r", (a,)).status is AlertStatus.RESOLVED
    assert AlertBatch("g", "r", (a, b)).status is AlertStatus.FIRING


def test_every_notifier_kind_is_documented() -> None:
    text = DOCS.read_text()
    for cls in (WebhookNotifier, SlackNotifier, PagerDutyNotifier, EmailNotifier):
        assert f"| `{cls.kind}`" in text
        assert cls.__name__ in text
