"""A project's health digest for a day or a week, sent through the alert receivers.

Per digest: each SLO's status, budget left, budget spent in the period and the pages and
tickets it raised; the burn-rate incidents of the period; the worst segments by error rate
(each key's values with at least `MIN_SEGMENT_SPANS` requests); request count and cost. It
renders as text and travels as one resolved ``alertname: LlmpulseDigest`` alert (text in the
``description`` annotation), so every notifier (webhook, Slack, PagerDuty, e-mail) can carry
it without a format of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from llmpulse.alerts.notifiers.base import Alert, AlertBatch, AlertStatus, Delivery, Notifier
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.query.service import QueryService
from llmpulse.slos.report import Incident, PeriodUnit, build_reports
from llmpulse.slos.service import SloService
from llmpulse.store.api import SpanFilter, TimeRange
from llmpulse.store.metric_api import MetricQuery

DigestPeriod = Literal["day", "week"]
MIN_SEGMENT_SPANS = 30
SEGMENT_KEYS = ("metadata.tier", "metadata.region", "model")


@dataclass(frozen=True)
class DigestSlo:
    """One SLO in the digest."""

    name: str
    status: str
    sli: float
    objective: float
    budget_remaining: float
    budget_spent: float
    pages: int
    tickets: int
    incidents: list[Incident]


@dataclass(frozen=True)
class Segment:
    """One value of a key with its error rate over the period."""

    key: str
    value: str
    error_rate: float
    requests: int


@dataclass(frozen=True)
class Digest:
    """A project's digest over ``[start, end)``."""

    project: str
    start: datetime
    end: datetime
    slos: list[DigestSlo]
    worst_segments: list[Segment]
    requests: int
    cost_usd: float | None


async def _segments(query: QueryService, project: str, time: TimeRange) -> list[Segment]:
    rate = parse_metric("error:rate")
    out = []
    for key in SEGMENT_KEYS:
        q = MetricQuery(ProjectName(project), (rate,), time, None, (key,),
                        SpanFilter(root_only=True), max_groups=100)  # fmt: skip
        for r in (await query.metric(q)).rows:
            v = r.values[0]
            if r.group[0] is not None and v is not None and r.n >= MIN_SEGMENT_SPANS:
                out.append(Segment(key, str(r.group[0]), float(v), r.n))
    return sorted(out, key=lambda s: (-s.error_rate, -s.requests))[:5]


async def build_digest(
    slos: SloService, query: QueryService, project: str, end: datetime,
    period: DigestPeriod = "day",
) -> Digest:  # fmt: skip
    """The digest of the ``period`` ending at ``end``."""
    start = end - timedelta(days=1 if period == "day" else 7)
    time = TimeRange(start, end)
    cycle = await slos.evaluate_slos(project, end)
    unit: PeriodUnit = "day" if period == "day" else "week"
    reports = await build_reports(slos, [s.spec for s in cycle.statuses], start, end, unit)
    items = []
    for s, report in zip(cycle.statuses, reports, strict=True):
        p = report.periods[0]
        items.append(DigestSlo(
            s.name, s.budget.status, s.budget.sli, float(s.spec.objective), s.budget.remaining,
            p.budget_used, p.pages, p.tickets, p.incidents,
        ))  # fmt: skip
    totals = MetricQuery(
        ProjectName(project), (parse_metric("count"), parse_metric("cost_usd:sum")), time,
        where=SpanFilter(root_only=False),
    )  # fmt: skip
    requests = MetricQuery(ProjectName(project), (parse_metric("count"),), time,
                           where=SpanFilter(root_only=True))  # fmt: skip
    t_rows = (await query.metric(totals)).rows
    r_rows = (await query.metric(requests)).rows
    cost = t_rows[0].values[1] if t_rows else None
    n = int(r_rows[0].n) if r_rows else 0
    return Digest(project, start, end, items, await _segments(query, project, time), n, cost)


def _pct(v: float) -> str:
    return "-" if math.isnan(v) else f"{v * 100:.2f} %"


def digest_text(d: Digest) -> str:
    """The digest as plain text (what the receivers show)."""
    lines = [
        f"llmpulse digest for {d.project}, {d.start:%Y-%m-%d %H:%M} to {d.end:%Y-%m-%d %H:%M} UTC",
        f"Requests: {d.requests}; cost: "
        + ("unknown" if d.cost_usd is None else f"${d.cost_usd:,.2f}"),
        "",
        "SLOs:",
    ]
    for s in d.slos:
        lines.append(
            f"- {s.name}: {s.status.replace('_', ' ')}, SLI {_pct(s.sli)} (objective "
            f"{_pct(s.objective)}), budget left {_pct(s.budget_remaining)}, spent in period "
            f"{_pct(s.budget_spent)}, {s.pages} page(s), {s.tickets} ticket(s)"
        )
        for i in s.incidents:
            until = "ongoing" if i.end is None else f"{i.end:%Y-%m-%d %H:%M}"
            lines.append(f"  - incident {i.rule} ({i.severity}) {i.start:%Y-%m-%d %H:%M} to "
                         f"{until}: {_pct(i.budget_spent)} of the budget")  # fmt: skip
    if not d.slos:
        lines.append("- (no SLOs)")
    lines += ["", "Worst segments by error rate:"]
    lines += [f"- {g.key}={g.value}: {_pct(g.error_rate)} of {g.requests} requests"
              for g in d.worst_segments] or ["- (none with enough requests)"]  # fmt: skip
    return "\n".join(lines)


def digest_batch(d: Digest, receiver: str, external_url: str = "") -> AlertBatch:
    """The digest as one resolved alert in a batch of its own (a stable group key per day)."""
    labels = {"alertname": "LlmpulseDigest", "project": d.project}
    worst = [s for s in d.slos if s.status in ("breached", "at_risk")]
    summary = f"{d.project}: {len(d.slos)} SLOs, {len(worst)} breached or at risk"
    link = f"{external_url}/ui/projects/{d.project}/slos"
    alert = Alert(
        labels=labels, status=AlertStatus.RESOLVED, starts_at=d.start, ends_at=d.end,
        annotations={"summary": summary, "description": digest_text(d)}, url=link,
    )  # fmt: skip
    key = f"digest/{d.project}/{d.end:%Y-%m-%dT%H:%M}"
    return AlertBatch(key, receiver, (alert,), labels, link, external_url)


async def send_digest(d: Digest, notifier: Notifier, receiver: str) -> Delivery:
    """Send the digest through one receiver's notifier."""
    return await notifier.send(digest_batch(d, receiver))
