"""One SLO at one instant, from its good/valid series: status, burn rates, alerts (pure).

The period's SLI is Σgood/Σvalid (R1) over the rolling window ending now, or over the
calendar month so far; the current burn rate is taken over the first page rule's long
window (1 h for 30 d). Alerts are the burn-rate rules firing now (METHODS.md §2.4), one
`Alert` per rule, started when the rule's current run of firing buckets began.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from llmpulse.alerts.model import Alert
from llmpulse.analysis.slo import (
    BucketSeries,
    BudgetStatus,
    BurnRule,
    budget_status,
    burn_rate,
    firing_series,
    month_bounds,
    period_length,
)
from llmpulse.slos.spec import SloSpec, format_duration
from llmpulse.store.slo_api import Counts

ALERT_NAME = "SLOBurnRate"


@dataclass(frozen=True)
class BurnWindow:
    """The burn rate over one window ending now (NaN without valid events)."""

    window: timedelta
    burn_rate: float
    valid: float


@dataclass(frozen=True)
class Episode:
    """A run of buckets in which one rule fired; ``end`` is None while it still fires."""

    rule: str
    severity: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class SloStatus:
    """Where one SLO stands at ``at``."""

    spec: SloSpec
    at: datetime
    period_start: datetime
    good: float
    valid: float
    budget: BudgetStatus
    windows: list[BurnWindow]
    rules: list[BurnRule]
    alerts: list[Alert]
    episodes: list[Episode]
    burn_down: list[tuple[datetime, float]]

    @property
    def name(self) -> str:
        """The SLO's name."""
        return self.spec.name


def least_budget_first(statuses: list[SloStatus]) -> list[SloStatus]:
    """The statuses by budget remaining, least first; SLOs without data last, by name."""

    def key(s: SloStatus) -> tuple[int, float, str]:
        r = s.budget.remaining
        return (1, 0.0, s.name) if math.isnan(r) else (0, r, s.name)

    return sorted(statuses, key=key)


def series_of(counts: Counts) -> BucketSeries:
    """The analysis view of the store's counts."""
    return BucketSeries.of(counts.start, counts.width, counts.good, counts.valid)


def _sum_since(series: BucketSeries, start: datetime, end: datetime) -> tuple[float, float]:
    span = series.between(start, end)
    return float(series.good[span].sum()), float(series.valid[span].sum())


def _labels(spec: SloSpec, rule: BurnRule) -> dict[str, str]:
    return {
        **spec.labels,
        **spec.alerting.labels,
        "alertname": ALERT_NAME,
        "project": spec.project,
        "slo": spec.name,
        "severity": rule.severity,
        "rule": rule.name,
        "windows": f"{format_duration(rule.long)}/{format_duration(rule.short)}",
    }


def episodes_of(
    rules: list[BurnRule], series: BucketSeries, end_index: int, at: datetime
) -> dict[str, list[Episode]]:
    """Runs of firing buckets per rule; a rule fires (and stops) at the end of a bucket, or
    at ``at`` for the bucket still filling."""
    out: dict[str, list[Episode]] = {}
    firing = firing_series(rules, series)
    for rule in rules:
        f = firing[rule.name][: end_index + 1]
        edges = np.flatnonzero(np.diff(np.concatenate(([0], f.astype(np.int8), [0]))))
        runs = []
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            start = min(series.start + series.bucket * (int(a) + 1), at)
            end = None if b > end_index else min(series.start + series.bucket * (int(b) + 1), at)
            runs.append(Episode(rule.name, rule.severity, start, end))
        out[rule.name] = runs
    return out


def trim(series: BucketSeries, start: datetime) -> BucketSeries:
    """The buckets from the one holding ``start`` on (a shorter series evaluates faster)."""
    lo = max(0, (start - series.start) // series.bucket)
    if lo == 0:
        return series
    return BucketSeries(
        series.start + series.bucket * lo, series.bucket, series.good[lo:], series.valid[lo:]
    )


def evaluate(spec: SloSpec, counts: Counts, rules: list[BurnRule], at: datetime) -> SloStatus:
    """Status, burn rates and firing alerts of one SLO at ``at`` (inside the series).

    The series is first cut to the period plus the longest rule window: the project's
    query covers its longest SLO, and a 7 d SLO need not walk 28 days of buckets.
    """
    slo = spec.to_slo()
    first = at - period_length(slo, at) - max([r.long for r in rules], default=timedelta(0))
    series = trim(series_of(counts), first)
    period = period_length(slo, at)
    if isinstance(slo.period, timedelta):
        period_start, time_left = at - slo.period, slo.period
    else:
        period_start, month_end = month_bounds(at)
        time_left = month_end - at
    good, valid = _sum_since(series, period_start, at)
    current = rules[0].long if rules else timedelta(hours=1)
    cur_good, cur_valid = _sum_since(series, at - current, at)
    budget = budget_status(
        slo, good, valid, current_good=cur_good, current_valid=cur_valid,
        period=period, time_left=time_left,
    )  # fmt: skip
    windows = []
    for w in sorted({r.long for r in rules} | {r.short for r in rules}):
        g, v = _sum_since(series, at - w, at)
        windows.append(BurnWindow(w, burn_rate(slo, v - g, v), v))
    burn = {w.window: w.burn_rate for w in windows}
    end_index = series.index_at(at)
    episodes = episodes_of(rules, series, end_index, at)
    alerts = []
    for rule in rules:
        runs = episodes[rule.name]
        if not runs or runs[-1].end is not None:
            continue  # not firing at `at` (the last bucket)
        started = runs[-1].start
        alerts.append(
            Alert(
                labels=_labels(spec, rule),
                starts_at=started,
                annotations={
                    "summary": f"SLO {spec.name} burns its error budget {rule.severity}-fast",
                    "burn_rate_long": f"{burn[rule.long]:.4g}",
                    "burn_rate_short": f"{burn[rule.short]:.4g}",
                    "factor": f"{float(rule.factor):.4g}",
                    "objective": str(spec.objective),
                },
            )
        )
    return SloStatus(
        spec=spec, at=at, period_start=period_start, good=good, valid=valid, budget=budget,
        windows=windows, rules=rules, alerts=alerts,
        episodes=[e for runs in episodes.values() for e in runs],
        burn_down=burn_down(series, slo.epsilon, period_start, at),
    )  # fmt: skip


def burn_down(
    series: BucketSeries, epsilon: object, start: datetime, at: datetime, points: int = 200
) -> list[tuple[datetime, float]]:
    """Budget remaining through the period: 1 - cumulative bad / (ε·valid of the period)."""
    span = series.between(start, at)
    lo = span.start
    bad = np.cumsum(series.valid[span] - series.good[span])
    total = float(series.valid[span].sum())
    if total == 0 or bad.size == 0:
        return []
    allowed = float(str(epsilon)) * total
    step = max(1, bad.size // points)
    idx = list(range(step - 1, bad.size, step))
    if idx[-1] != bad.size - 1:
        idx.append(bad.size - 1)
    return [
        (series.start + series.bucket * (lo + i + 1), 1.0 - float(bad[i]) / allowed) for i in idx
    ]
