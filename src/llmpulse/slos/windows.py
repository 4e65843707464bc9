"""Which burn-rate windows an SLO uses, and the bucket that fits all of a project's SLOs.

28 d, 30 d and calendar-month SLOs use the Google/Sloth table as it stands (factors derived
from the period: 14.4/6/3/1 for 30 d, 13.44/5.6/2.8/0.933 for 28 d; METHODS.md §2.4-2.5).
Other periods scale the 30 d windows linearly (Pyrra's rule, §2.6), so a 7 d SLO alerts on
1h→14m windows with the 30 d factors instead of reusing 30 d windows with wrong factors.
"""

from __future__ import annotations

import math
from datetime import timedelta

from llmpulse.analysis.slo import GOOGLE_TABLE, BurnRule, WindowRow, burn_rules, scale_table
from llmpulse.analysis.slo.rules import MIN_FAILURES
from llmpulse.slos.spec import LatencyQuantileSli, SloSpec

NOMINAL = (timedelta(days=28), timedelta(days=30))
MINUTE = timedelta(minutes=1)


def window_table(spec: SloSpec) -> tuple[WindowRow, ...]:
    """The window rows of one SLO (see the module docstring)."""
    slo = spec.to_slo()
    if slo.nominal_period in NOMINAL:
        return GOOGLE_TABLE
    return scale_table(GOOGLE_TABLE, slo.nominal_period)


def fit(table: tuple[WindowRow, ...], bucket: timedelta) -> tuple[WindowRow, ...]:
    """Round every window up to a whole number of buckets (short stays below long)."""

    def up(d: timedelta) -> timedelta:
        return bucket * max(1, math.ceil(d / bucket))

    rows = []
    for r in table:
        long = max(up(r.long), 2 * bucket)
        short = min(up(r.short), long - bucket)
        rows.append(WindowRow(r.name, r.severity, r.budget_percent, long, short))
    return tuple(rows)


def rules_for(spec: SloSpec, bucket: timedelta) -> list[BurnRule]:
    """The SLO's burn-rate rules with windows in whole buckets, severities as configured."""
    width = spec.sli.slice if isinstance(spec.sli, LatencyQuantileSli) else bucket
    table = fit(window_table(spec), width)
    keep = {s for s, on in (("page", spec.alerting.page), ("ticket", spec.alerting.ticket)) if on}
    # Time slices are events already aggregated over many requests: the low-traffic floor on
    # the short window (n >= 2/(factor·eps) events, METHODS §2.4) would need more slices
    # than the window holds, so it is off for them.
    sliced = isinstance(spec.sli, LatencyQuantileSli)
    rules = burn_rules(spec.to_slo(), table, min_failures=1 if sliced else MIN_FAILURES)
    return [r for r in rules if r.severity in keep]


def _minutes(d: timedelta) -> int:
    return max(1, int(d.total_seconds()) // 60)


def project_bucket(specs: list[SloSpec]) -> timedelta:
    """The widest bucket that divides every window and slice of the project's SLOs."""
    g = 0
    for spec in specs:
        for r in window_table(spec):
            g = math.gcd(g, _minutes(r.long), _minutes(r.short))
        if isinstance(spec.sli, LatencyQuantileSli):
            g = math.gcd(g, _minutes(spec.sli.slice))
        if isinstance(spec.window, timedelta):
            g = math.gcd(g, _minutes(spec.window))
    return timedelta(minutes=g or 1)
