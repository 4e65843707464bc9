"""Compliance reports per SLO and period (METHODS.md §2.7), as data and as CSV.

Per period: SLI = Σgood/Σvalid (R1, never a mean of daily SLIs), met or not, budget used
and remaining, the highest burn rate per window, pages and tickets raised, data coverage,
and the incidents (runs of a firing burn-rate rule) with the share of the period's budget
each spent while it fired.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from llmpulse.analysis.slo import BucketSeries, BurnRule, Period, calendar_months, compliance
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.slos.evaluate import Episode, episodes_of, series_of
from llmpulse.slos.service import SloService, align_down, align_up
from llmpulse.slos.spec import LatencyQuantileSli, SloSpec, format_duration
from llmpulse.slos.windows import project_bucket, rules_for

PeriodUnit = Literal["month", "week", "day"]
MAX_REPORT = timedelta(days=400)


@dataclass(frozen=True)
class Incident:
    """A run of one firing rule, and the share of its period's budget spent meanwhile."""

    rule: str
    severity: str
    start: datetime
    end: datetime | None
    budget_spent: float


@dataclass(frozen=True)
class PeriodReport:
    """One period of a compliance report."""

    label: str
    start: datetime
    end: datetime
    good: float
    valid: float
    sli: float
    met: bool | None
    budget_used: float
    budget_remaining: float
    max_burn: dict[str, float]
    pages: int
    tickets: int
    coverage: float
    incidents: list[Incident]


@dataclass(frozen=True)
class ComplianceReport:
    """An SLO's compliance over ``[start, end)``, period by period."""

    spec: SloSpec
    start: datetime
    end: datetime
    unit: PeriodUnit
    periods: list[PeriodReport]


def periods(start: datetime, end: datetime, unit: PeriodUnit) -> list[Period]:
    """Calendar months overlapping the range, or days / weeks from ``start``."""
    if unit == "month":
        return calendar_months(start, end)
    step = timedelta(days=1 if unit == "day" else 7)
    out, t = [], start
    while t < end:
        label = t.strftime("%Y-%m-%d")
        out.append(Period(label, t, min(t + step, end)))
        t += step
    return out


def _spent(series: BucketSeries, ep: Episode, period: Period, allowed: float) -> float:
    lo = max(ep.start, period.start)
    hi = min(ep.end or period.end, period.end)
    if hi <= lo or allowed <= 0:
        return 0.0
    span = series.between(lo, hi)
    return float((series.valid[span] - series.good[span]).sum()) / allowed


async def build_report(
    service: SloService,
    spec: SloSpec,
    start: datetime,
    end: datetime,
    unit: PeriodUnit = "month",
) -> ComplianceReport:
    """Compute the report from the stored spans (one count query).

    Raises:
        InvalidInput: ``end`` is not after ``start`` or the range exceeds 400 days.
    """
    (report,) = await build_reports(service, [spec], start, end, unit)
    return report


def _plan(spec: SloSpec, first: datetime, last: datetime) -> tuple[timedelta, datetime, datetime]:
    """The bucket and the query range of one SLO's report over periods ``[first, last)``."""
    bucket = project_bucket([spec])
    width = spec.sli.slice if isinstance(spec.sli, LatencyQuantileSli) else bucket
    longest = max([r.long for r in rules_for(spec, bucket)], default=width)
    return bucket, align_down(first - longest, width), align_up(last, width)


async def build_reports(
    service: SloService,
    specs: list[SloSpec],
    start: datetime,
    end: datetime,
    unit: PeriodUnit = "month",
) -> list[ComplianceReport]:
    """The reports of several SLOs of one project over the same range, in ``specs`` order.

    SLOs whose reports need the same bucket and query range share one count query (each
    report is what `build_report` gives for its SLO alone).

    Raises:
        InvalidInput: ``end`` is not after ``start`` or the range exceeds 400 days.
    """
    if end <= start:
        raise InvalidInput("end must be after start", [FieldError("end", "before start")])
    if end - start > MAX_REPORT:
        raise InvalidInput("report range too long", [FieldError("start", "at most 400 days")])
    ps = periods(start, end, unit)
    groups: dict[tuple[timedelta, datetime, datetime], list[int]] = {}
    for i, spec in enumerate(specs):
        groups.setdefault(_plan(spec, ps[0].start, ps[-1].end), []).append(i)
    out: dict[int, ComplianceReport] = {}
    for (bucket, q_start, q_end), members in groups.items():
        chosen = [specs[i] for i in members]
        project = chosen[0].project
        counts = await service.counts(project, chosen, q_start, q_end, bucket)
        for i, spec, c in zip(members, chosen, counts, strict=True):
            periods_out = _report_periods(spec, series_of(c), ps, rules_for(spec, bucket), q_end)
            out[i] = ComplianceReport(spec, start, end, unit, periods_out)
    return [out[i] for i in range(len(specs))]


def _report_periods(
    spec: SloSpec, series: BucketSeries, ps: list[Period], rules: list[BurnRule], q_end: datetime
) -> list[PeriodReport]:
    rows = compliance(spec.to_slo(), series, ps, rules)
    last = len(series) - 1
    episodes = [e for runs in episodes_of(rules, series, last, q_end).values() for e in runs]
    eps = float(spec.to_slo().epsilon)
    out = []
    for p, c in zip(ps, rows, strict=True):
        allowed = eps * c.valid
        incidents = [
            Incident(e.rule, e.severity, e.start, e.end, _spent(series, e, p, allowed))
            for e in episodes
            if e.start < p.end and (e.end is None or e.end > p.start)
        ]
        out.append(
            PeriodReport(
                label=p.label, start=p.start, end=p.end, good=c.good, valid=c.valid, sli=c.sli,
                met=c.met, budget_used=c.consumed, budget_remaining=c.remaining,
                max_burn={format_duration(w): v for w, v in c.max_burn.items()},
                pages=c.alerts.get("page", 0), tickets=c.alerts.get("ticket", 0),
                coverage=c.coverage, incidents=incidents,
            )
        )  # fmt: skip
    return out


def _num(v: float) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"


CSV_COLUMNS = (
    "period", "start", "end", "good", "valid", "sli", "objective", "met", "budget_used",
    "budget_remaining", "pages", "tickets", "coverage", "incidents",
)  # fmt: skip


def to_csv(report: ComplianceReport) -> str:
    """One row per period (RFC 4180, header first)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for p in report.periods:
        w.writerow(
            [
                p.label, p.start.isoformat(), p.end.isoformat(), _num(p.good), _num(p.valid),
                _num(p.sli), str(report.spec.objective),
                "" if p.met is None else str(p.met).lower(),
                _num(p.budget_used), _num(p.budget_remaining), p.pages, p.tickets,
                _num(p.coverage), len(p.incidents),
            ]
        )  # fmt: skip
    return buf.getvalue()


def finite(v: float) -> float | None:
    """JSON has no NaN: unknown values become null."""
    return None if math.isnan(v) or np.isinf(v) else v
