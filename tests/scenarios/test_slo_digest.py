"""The daily digest (issue 11 item 6): SLO status, budget spent, incidents, worst segments and
cost, built from stored spans and delivered through the webhook notifier to a receiver that
checks the HMAC signature and Alertmanager's payload shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slo_traffic import traffic

from fakes.webhook import webhook_receiver
from llmpulse.alerts.notifiers.webhook import WebhookNotifier
from llmpulse.clock import ManualClock
from llmpulse.query.service import QueryService
from llmpulse.slos.digest import build_digest, digest_text, send_digest
from llmpulse.slos.report import build_report, build_reports
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


def test_the_digest_reports_every_slo_as_its_own_report_would_from_fewer_queries(
    services: tuple[SloService, QueryService],
) -> None:
    slos, query = services
    others = [
        {"name": "pro-available", "filter": "tier = 'pro'", "window": "30d",
         "sli": {"type": "availability"}},
        {"name": "fast", "window": "30d", "sli": {"type": "latency", "threshold_ms": 250}},
        {"name": "weekly", "window": "7d", "sli": {"type": "availability"}},
        {"name": "p95", "window": "30d",
         "sli": {"type": "latency_quantile", "threshold_ms": 250, "slice": "5m"}},
    ]  # fmt: skip
    for d in others:
        run(slos.put(SloSpec.model_validate({**d, "project": P, "objective": "0.999"})))
    specs = run(slos.specs(P))
    start = END - timedelta(days=1)
    alone = [run(build_report(slos, s, start, END, "day")) for s in specs]
    queries = 0
    counts = slos.counts

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal queries
        queries += 1
        return await counts(*args, **kwargs)

    slos.counts = counted  # type: ignore[method-assign]
    together = run(build_reports(slos, specs, start, END, "day"))
    assert together == alone
    assert queries < len(specs)
    digest = run(build_digest(slos, query, P, END, "day"))
    by_name = {s.name: s for s in digest.slos}
    for report in alone:
        (p,) = report.periods
        d = by_name[report.spec.name]
        assert (d.budget_spent, d.pages, d.tickets, d.incidents) == (
            p.budget_used,
            p.pages,
            p.tickets,
            p.incidents,
        )
    assert by_name["availability"].status == "breached"  # the outage, as in the test above
