"""Multiwindow, multi-burn-rate alert rules (METHODS.md §2.4, §2.5).

A table row names a share of the error budget and a long/short window pair. As in Sloth
(`internal/alert/window.go`), the burn factor is derived from the SLO's period:
factor = (budget share x P) / long window, so the Google table gives 14.4 / 6 / 3 / 1 for
30 d and 13.44 / 5.6 / 2.8 / 0.9333 for 28 d. Decimal arithmetic keeps those exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Literal, TypeAlias

from llmpulse.analysis.slo.budget import SLO
from llmpulse.domain.errors import InvalidInput

Severity: TypeAlias = Literal["page", "ticket"]

MIN_FAILURES = 3
"""k in the short-window minimum n ≥ (k - 1)/(factor·ε): two failures never fire (§2.4)."""


@dataclass(frozen=True)
class WindowRow:
    """One row of a window table: spend `budget_percent` % of the budget within `long`."""

    name: str
    severity: Severity
    budget_percent: Decimal
    long: timedelta
    short: timedelta


def _row(name: str, severity: Severity, percent: str, long: timedelta) -> WindowRow:
    return WindowRow(name, severity, Decimal(percent), long, long / 12)


GOOGLE_TABLE: tuple[WindowRow, ...] = (
    _row("page_quick", "page", "2", timedelta(hours=1)),
    _row("page_slow", "page", "5", timedelta(hours=6)),
    _row("ticket_quick", "ticket", "10", timedelta(days=1)),
    _row("ticket_slow", "ticket", "10", timedelta(days=3)),
)
"""Sloth's google-30d/28d catalog (the SRE workbook table plus the 1 d ticket row); short
windows are 1/12 of the long ones: 5m/1h, 30m/6h, 2h/1d, 6h/3d."""


@dataclass(frozen=True)
class BurnRule:
    """A concrete rule: fire when the error ratio exceeds `threshold` on both windows.

    Attributes:
        name: Row name (`page_quick`, …).
        severity: `page` or `ticket`; rows of one severity are OR-ed.
        long: Long window (significance).
        short: Short window (fast reset after recovery).
        factor: Burn-rate factor, budget share x P / long.
        threshold: Error-ratio threshold, factor·ε.
        min_short_valid: Valid events the short window needs before the rule may fire.
    """

    name: str
    severity: Severity
    long: timedelta
    short: timedelta
    factor: Decimal
    threshold: Decimal
    min_short_valid: int


def _hours(d: timedelta) -> Decimal:
    return Decimal(int(d.total_seconds())) / Decimal(3600)


def burn_rules(
    slo: SLO, table: tuple[WindowRow, ...] = GOOGLE_TABLE, *, min_failures: int = MIN_FAILURES
) -> list[BurnRule]:
    """Derive the burn-rate rules of `table` for `slo` (Sloth's scaling, §2.5).

    Args:
        slo: The objective; a calendar month uses its nominal 30 d.
        table: Window rows; each long window must be shorter than the SLO's period and
            longer than its short window.
        min_failures: k of the low-traffic guard; the short window needs
            n ≥ (k - 1)/(factor·ε) valid events.

    Raises:
        InvalidInput: A row's windows do not fit the SLO's period.
    """
    if min_failures < 1:
        raise InvalidInput(f"min_failures must be >= 1, got {min_failures}")
    period = slo.nominal_period
    rules = []
    for row in table:
        if not timedelta(0) < row.short < row.long:
            raise InvalidInput(f"table row {row.name}: short window must be in (0, long)")
        if row.long > period:
            raise InvalidInput(
                f"table row {row.name}: long window {row.long} exceeds the SLO period {period};"
                " use scale_table for short periods"
            )
        if not Decimal(0) < row.budget_percent <= Decimal(100):
            raise InvalidInput(f"table row {row.name}: budget_percent must be in (0, 100]")
        factor = row.budget_percent / Decimal(100) * _hours(period) / _hours(row.long)
        threshold = factor * slo.epsilon
        min_n = math.ceil(Decimal(min_failures - 1) / threshold) if min_failures > 1 else 0
        rules.append(
            BurnRule(row.name, row.severity, row.long, row.short, factor, threshold, min_n)
        )
    return rules


def scale_table(
    table: tuple[WindowRow, ...], period: timedelta, reference: timedelta = timedelta(days=30)
) -> tuple[WindowRow, ...]:
    """Scale a table's windows linearly from `reference` to `period`, rounded to the minute.

    Pyrra's approach (§2.6) for SLO periods the fixed catalog does not fit (e.g. 1 d): the
    windows shrink with the period, so the derived factors stay those of the reference.
    """
    if period <= timedelta(0):
        raise InvalidInput(f"period must be positive, got {period}")
    ratio = period / reference

    def scaled(d: timedelta) -> timedelta:
        minutes = max(1, round(d.total_seconds() * ratio / 60))
        return timedelta(minutes=minutes)

    return tuple(
        WindowRow(r.name, r.severity, r.budget_percent, scaled(r.long), scaled(r.short))
        for r in table
    )
