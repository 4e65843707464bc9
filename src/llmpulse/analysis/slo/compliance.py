"""Compliance summary per period (METHODS.md §2.7).

Per period: the SLI as Σgood/Σvalid (R1, never the mean of daily SLIs), met or not, budget
consumed and remaining, the highest burn rate seen per window size, the time each rule
spent firing, the alerts raised per severity, and data coverage (share of buckets with
valid events).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from llmpulse.analysis.slo.budget import SLO, month_bounds
from llmpulse.analysis.slo.evaluate import BucketSeries, firing_series
from llmpulse.analysis.slo.rules import BurnRule
from llmpulse.domain.errors import InvalidInput


@dataclass(frozen=True)
class Period:
    """A reporting period `[start, end)` with a label such as `2026-11`."""

    label: str
    start: datetime
    end: datetime


def calendar_months(start: datetime, end: datetime) -> list[Period]:
    """The UTC calendar months overlapping `[start, end)`, each whole."""
    if end <= start:
        raise InvalidInput(f"end {end} must be after start {start}")
    periods = []
    cursor = month_bounds(start)[0]
    while cursor < end:
        nxt = month_bounds(cursor)[1]
        periods.append(Period(cursor.astimezone(UTC).strftime("%Y-%m"), cursor, nxt))
        cursor = nxt
    return periods


@dataclass(frozen=True)
class PeriodCompliance:
    """One period's compliance.

    Attributes:
        period: The period.
        good: Good events.
        valid: Valid events.
        sli: good/valid; NaN without data (R3).
        met: SLI ≥ objective; `None` without data.
        consumed: Budget consumed, bad/(ε·valid); may exceed 1.
        remaining: 1 - consumed (not clamped).
        max_burn: Highest burn rate per window (keyed by the window) among buckets ending in
            the period.
        time_firing: Time each rule spent firing, by rule name.
        alerts: Alerts raised (rising edges) per severity and per rule name.
        coverage: Share of the period's buckets with at least one valid event.
    """

    period: Period
    good: float
    valid: float
    sli: float
    met: bool | None
    consumed: float
    remaining: float
    max_burn: dict[timedelta, float]
    time_firing: dict[str, timedelta]
    alerts: dict[str, int]
    coverage: float


def compliance(
    slo: SLO, series: BucketSeries, periods: list[Period], rules: list[BurnRule]
) -> list[PeriodCompliance]:
    """Summarise each period of `series` against `slo`.

    Buckets count toward a period when they start inside it. Burn-rate windows look back
    across the period boundary, as the alerts did at the time.
    """
    eps = float(slo.epsilon)
    firing = firing_series(rules, series)
    windows = sorted({r.long for r in rules} | {r.short for r in rules})
    burns = {}
    for w in windows:
        w_bad, w_valid = series.window_sums(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            burns[w] = np.where(
                w_valid > 0, w_bad / np.where(w_valid > 0, w_valid, 1.0) / eps, np.nan
            )
    starts = np.array([series.start + series.bucket * i for i in range(len(series))])
    out = []
    for p in periods:
        mask = (starts >= p.start) & (starts < p.end) if len(series) else np.zeros(0, bool)
        idx = np.flatnonzero(mask)
        good, valid = float(series.good[idx].sum()), float(series.valid[idx].sum())
        slots = max(1, (p.end - p.start) // series.bucket)
        coverage = float(np.count_nonzero(series.valid[idx] > 0)) / slots
        if valid > 0:
            sli = good / valid
            consumed = (valid - good) / (eps * valid)
            met: bool | None = consumed <= 1.0
        else:
            sli, consumed, met = math.nan, math.nan, None
        max_burn = {
            w: float(np.nanmax(b[idx])) if idx.size and not np.all(np.isnan(b[idx])) else math.nan
            for w, b in burns.items()
        }
        time_firing: dict[str, timedelta] = {}
        alerts: dict[str, int] = {}
        for name, f in firing.items():
            prev = np.concatenate(([False], f[:-1]))
            alerts[name] = int(np.count_nonzero((f & ~prev)[idx]))
            if name not in ("page", "ticket"):
                time_firing[name] = series.bucket * int(np.count_nonzero(f[idx]))
        out.append(
            PeriodCompliance(
                p,
                good,
                valid,
                sli,
                met,
                consumed,
                1.0 - consumed,
                max_burn,
                time_firing,
                alerts,
                coverage,
            )
        )
    return out
