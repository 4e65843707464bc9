"""The daily digest (issue 11 item 6): SLO status, budget spent, incidents, worst segments and
cost, built from stored spans and delivered through the webhook notifier to a receiver that
checks the HMAC signature and Alertmanager's payload shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slo_traffic import traffic

from fakes.webhook import webhook_receiver
from llmpulse.alerts.notifiers.webhook import WebhookNotifier
from llmpulse.clock import ManualClock
from llmpulse.query.service import QueryService
from llmpulse.slos.digest import build_digest, digest_text, send_digest
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import SloSpec
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

END = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
P = "shop"
OUTAGE = (END - timedelta(hours=10), END - timedelta(hours=9, minutes=30))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[SloService, QueryService]]:
    events = DuckDBEventStore(tmp_path / "events.duckdb")
    state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    day = traffic(
        P, END - timedelta(days=2), END, 20,
        lambda t: 2 if OUTAGE[0] <= t < OUTAGE[1] else 0,
    )  # fmt: skip
    tiers = ("free", "pro")
    # Every other request of the outage fails: the odd ones, which are all tier=pro.
    spans = [replace(s, metadata={"tier": tiers[i % 2]}, cost_usd=0.002) for i, s in enumerate(day)]
    events.append_spans(spans)
    svc = SloService(events, state, ManualClock(END))
    spec = SloSpec.model_validate(
        {"name": "availability", "project": P, "objective": "0.999", "window": "30d",
         "sli": {"type": "availability"}}
    )  # fmt: skip
    run(svc.put(spec))
    yield svc, QueryService(events, state)
    events.close()
    state.close()


def test_the_daily_digest_reports_the_outage_and_reaches_the_receiver(
    services: tuple[SloService, QueryService],
) -> None:
    slos, query = services
    digest = run(build_digest(slos, query, P, END, "day"))
    (slo,) = digest.slos
    assert slo.status == "breached"  # 300 bad of 57,600 against a 0.1 % budget
    assert slo.pages >= 1
    assert any(i.severity == "page" for i in slo.incidents)
    # the incident that paged spent most of what the day spent
    assert max(i.budget_spent for i in slo.incidents) > 0.5 * slo.budget_spent
    assert digest.requests == 28_800
    assert digest.cost_usd == pytest.approx(28_800 * 0.002)
    (worst, *_) = digest.worst_segments
    assert (worst.key, worst.value, worst.requests) == ("metadata.tier", "pro", 14_400)
    assert worst.error_rate == pytest.approx(300 / 14_400)
    text = digest_text(digest)
    assert "availability: breached" in text
    assert "incident page_slow (page)" in text  # 20 requests a minute: too few for the 5m rule
    with webhook_receiver(secret="s3cret", alertmanager=True) as receiver:
        notifier = WebhookNotifier(receiver.url, secret="s3cret", payload_format="alertmanager")
        delivery = run(send_digest(digest, notifier, "team"))
        assert delivery.ok, delivery.detail
    (req,) = receiver.requests
    body = json.loads(req.body)
    (alert,) = body["alerts"]
    assert alert["labels"] == {"alertname": "LlmpulseDigest", "project": P}
    assert alert["annotations"]["description"] == text
    assert alert["status"] == "resolved"
