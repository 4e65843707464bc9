"""Example alert batches for the notifier tests."""

from __future__ import annotations

from datetime import UTC, datetime

from llmpulse.alerts.notifiers import Alert, AlertBatch, AlertStatus

T0 = datetime(2026, 11, 14, 9, 30, tzinfo=UTC)
LINK = "http://llmpulse.local/projects/rag-demo/metrics?metric=latency_ms:p95&region=eu"


def alert(region: str, status: AlertStatus = AlertStatus.FIRING, **kw: object) -> Alert:
    labels = {
        "alertname": "checkout-latency",
        "monitor": "checkout-latency",
        "metric": "latency_ms:p95",
        "project": "rag-demo",
        "severity": "critical",
        "region": region,
    }
    ends = datetime(2026, 11, 14, 10, 0, tzinfo=UTC) if status is AlertStatus.RESOLVED else None
    return Alert(
        labels=labels,
        status=status,
        starts_at=T0,
        ends_at=ends,
        annotations={"summary": f"p95 latency high in {region}"},
        value=912.5,
        baseline=210.0,
        lower=None,
        upper=450.0,
        url=LINK,
        **kw,  # type: ignore[arg-type]
    )


def batch(*alerts: Alert, group_key: str = '{}:{alertname="checkout-latency"}') -> AlertBatch:
    return AlertBatch(
        group_key=group_key,
        receiver="oncall",
        alerts=alerts or (alert("eu"),),
        group_labels={"alertname": "checkout-latency"},
        link_url=LINK,
        external_url="http://llmpulse.local",
    )
