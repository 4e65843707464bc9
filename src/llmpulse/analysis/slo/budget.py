"""Error budget, consumption, burn rate and time to exhaustion (METHODS.md §2.2, §2.3).

ε = 1 - objective is computed in decimal, so 99.9 % gives exactly 0.001 (Sloth's float
arithmetic gives 0.0009999999999999432, §2.5 pitfall a). Counts are totals over a window,
summed before dividing (R1); a window without valid events has no ratio (R3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal, TypeAlias

from llmpulse.domain.errors import InvalidInput

SLOStatus: TypeAlias = Literal["healthy", "at_risk", "breached", "insufficient_data"]

MIN_ROLLING = timedelta(hours=1)
MAX_ROLLING = timedelta(days=90)
NOMINAL_MONTH = timedelta(days=30)
"""Period used to scale burn-rate rules for calendar-month SLOs (the workbook's 30 d table)."""


@dataclass(frozen=True)
class CalendarMonth:
    """A calendar-month compliance period (UTC); the budget resets on the 1st (§2.2)."""


@dataclass(frozen=True)
class SLO:
    """An objective over a period.

    Attributes:
        objective: Target fraction of good events, e.g. `Decimal("0.999")`; strings and floats
            are converted through `str`, so `0.999` means exactly 0.999.
        period: A rolling window (1 h to 90 d) or `CalendarMonth()`.
        at_risk_below: Remaining budget fraction under which the status is `at_risk`.
    """

    objective: Decimal
    period: timedelta | CalendarMonth
    at_risk_below: float = 0.25

    def __post_init__(self) -> None:
        objective = Decimal(str(self.objective))
        if not Decimal(0) < objective < Decimal(1):
            raise InvalidInput(f"objective must be in (0, 1), got {self.objective}")
        object.__setattr__(self, "objective", objective)
        if isinstance(self.period, timedelta) and not MIN_ROLLING <= self.period <= MAX_ROLLING:
            raise InvalidInput(f"period must be between 1h and 90d, got {self.period}")
        if not 0.0 <= self.at_risk_below < 1.0:
            raise InvalidInput(f"at_risk_below must be in [0, 1), got {self.at_risk_below}")

    @property
    def epsilon(self) -> Decimal:
        """The error budget as a ratio, ε = 1 - objective (exact)."""
        return Decimal(1) - self.objective

    @property
    def nominal_period(self) -> timedelta:
        """The rolling window, or 30 d for a calendar month (used to scale alert rules)."""
        return self.period if isinstance(self.period, timedelta) else NOMINAL_MONTH


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    """Return the UTC calendar month `[start, end)` holding the instant `at`."""
    t = at.astimezone(UTC)
    start = datetime(t.year, t.month, 1, tzinfo=UTC)
    end = datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_length(slo: SLO, at: datetime) -> timedelta:
    """Length of the SLO's period at `at`: the rolling window, or 28-31 days for a month."""
    if isinstance(slo.period, timedelta):
        return slo.period
    start, end = month_bounds(at)
    return end - start


def error_budget(slo: SLO, valid: float) -> float:
    """Request-based error budget B = ε·N_valid: the bad events the period may hold."""
    return float(slo.epsilon) * valid


def time_budget(slo: SLO, period: timedelta) -> timedelta:
    """Time-based error budget ε·|P|: 43.2 min for 99.9 % over 30 d."""
    return period * float(slo.epsilon)


def budget_spent(burn: float, window: timedelta, period: timedelta) -> float:
    """Share of the budget a constant burn rate spends in `window`: b·w/P."""
    return burn * (window / period)


def burn_rate(slo: SLO, bad: float, valid: float) -> float:
    """Burn rate b = (bad/valid)/ε over one window; NaN without valid events (R3)."""
    if valid < 0 or bad < 0 or bad > valid:
        raise InvalidInput(f"need 0 <= bad <= valid, got bad={bad}, valid={valid}")
    if valid == 0:
        return math.nan
    return bad / valid / float(slo.epsilon)


def time_to_exhaustion(remaining: float, burn: float, period: timedelta) -> timedelta | None:
    """Time until the remaining budget is gone at a constant burn: R·P/b.

    Returns:
        `timedelta(0)` when the budget is already spent, `None` when it is never spent
        (burn rate zero or unknown).
    """
    if remaining <= 0:
        return timedelta(0)
    if math.isnan(burn) or burn <= 0:
        return None
    return period * (remaining / burn)


@dataclass(frozen=True)
class BudgetStatus:
    """Where an SLO stands in its period (§2.3).

    Attributes:
        sli: Good/valid over the period (R1); NaN without data.
        allowed_bad: Error budget in events, ε·N_valid.
        bad: Bad events so far.
        consumed: C = bad/(ε·N_valid); may exceed 1.
        remaining: R = 1 - C; negative when overspent (not clamped).
        burn_rate: Current burn rate (over the `current` window passed in).
        time_to_exhaustion: R·P/b, `None` if never at the current rate.
        status: healthy / at_risk / breached / insufficient_data.
    """

    sli: float
    allowed_bad: float
    bad: float
    consumed: float
    remaining: float
    burn_rate: float
    time_to_exhaustion: timedelta | None
    status: SLOStatus


def budget_status(
    slo: SLO,
    good: float,
    valid: float,
    *,
    current_good: float,
    current_valid: float,
    period: timedelta,
    time_left: timedelta,
) -> BudgetStatus:
    """Budget consumed and remaining, burn rate, time to exhaustion and status.

    Breached when the period's SLI is below the objective (C > 1). At risk when less than
    `slo.at_risk_below` of the budget is left, or when the current burn rate would spend the
    rest before `time_left` ends (for a calendar month the time to its end; for a rolling
    window, the window itself). Otherwise healthy.

    Args:
        slo: The objective.
        good: Good events over the period.
        valid: Valid events over the period.
        current_good: Good events in the recent window the burn rate is taken over.
        current_valid: Valid events in that window.
        period: Length of the period (`period_length`).
        time_left: Time until the period ends (rolling: the period).
    """
    if good < 0 or good > valid:
        raise InvalidInput(f"need 0 <= good <= valid, got good={good}, valid={valid}")
    burn = burn_rate(slo, current_valid - current_good, current_valid)
    if valid == 0:
        return BudgetStatus(math.nan, 0.0, 0.0, math.nan, math.nan, burn, None, "insufficient_data")
    bad = valid - good
    allowed = error_budget(slo, valid)
    consumed = bad / allowed
    remaining = 1.0 - consumed
    tte = time_to_exhaustion(remaining, burn, period)
    status: SLOStatus = "healthy"
    if consumed > 1.0:
        status = "breached"
    elif remaining < slo.at_risk_below or (tte is not None and tte < time_left):
        status = "at_risk"
    return BudgetStatus(good / valid, allowed, bad, consumed, remaining, burn, tte, status)
