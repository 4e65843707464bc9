"""SLO error budget, burn rate, time to exhaustion and status (METHODS.md §2.2, §2.3)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from llmpulse.analysis.slo import (
    SLO,
    CalendarMonth,
    budget_spent,
    budget_status,
    burn_rate,
    error_budget,
    month_bounds,
    period_length,
    time_budget,
    time_to_exhaustion,
)
from llmpulse.domain.errors import InvalidInput

THIRTY_DAYS = timedelta(days=30)
SLO_999 = SLO(Decimal("0.999"), THIRTY_DAYS)


def test_epsilon_is_exact_when_objective_given_as_float_or_decimal() -> None:
    # §2.5 pitfall (a): 1 - 0.999 in floating point is 0.0010000000000000009
    assert SLO(Decimal("0.999"), THIRTY_DAYS).epsilon == Decimal("0.001")
    assert SLO(0.999, THIRTY_DAYS).epsilon == Decimal("0.001")  # type: ignore[arg-type]


def test_time_budget_is_43_2_minutes_when_999_over_30_days() -> None:
    assert time_budget(SLO_999, THIRTY_DAYS) == timedelta(minutes=43.2)


def test_budget_matches_methods_oracle_when_600_bad_of_a_million() -> None:
    s = budget_status(
        SLO_999,
        1_000_000 - 600,
        1_000_000,
        current_good=0.0,
        current_valid=0.0,
        period=THIRTY_DAYS,
        time_left=THIRTY_DAYS,
    )
    assert error_budget(SLO_999, 1_000_000) == pytest.approx(1000.0)
    assert s.allowed_bad == pytest.approx(1000.0)
    assert s.consumed == pytest.approx(0.6)
    assert s.remaining == pytest.approx(0.4)
    assert math.isnan(s.burn_rate)  # no traffic in the current window (R3)
    assert s.time_to_exhaustion is None


def test_burn_rate_and_exhaustion_match_oracle_when_error_ratio_1_44_percent() -> None:
    b = burn_rate(SLO_999, 144, 10_000)
    assert b == pytest.approx(14.4)
    tte = time_to_exhaustion(1.0, b, THIRTY_DAYS)
    assert tte is not None
    assert tte.total_seconds() == pytest.approx(50 * 3600)
    assert budget_spent(b, timedelta(hours=1), THIRTY_DAYS) == pytest.approx(0.02)


def test_time_to_exhaustion_handles_spent_and_idle_budgets() -> None:
    assert time_to_exhaustion(-0.2, 3.0, THIRTY_DAYS) == timedelta(0)
    assert time_to_exhaustion(0.5, 0.0, THIRTY_DAYS) is None
    assert time_to_exhaustion(0.5, math.nan, THIRTY_DAYS) is None
    # R·P/b: half the budget at burn 2 lasts a quarter of the period
    assert time_to_exhaustion(0.5, 2.0, THIRTY_DAYS) == timedelta(days=7.5)


def test_burn_rate_is_nan_when_window_has_no_valid_events() -> None:
    assert math.isnan(burn_rate(SLO_999, 0, 0))


def test_status_is_breached_and_remaining_negative_when_overspent() -> None:
    s = budget_status(
        SLO_999,
        1_000_000 - 1500,
        1_000_000,
        current_good=1000,
        current_valid=1000,
        period=THIRTY_DAYS,
        time_left=THIRTY_DAYS,
    )
    assert s.status == "breached"
    assert s.consumed == pytest.approx(1.5)
    assert s.remaining == pytest.approx(-0.5)  # reported, not clamped
    assert s.time_to_exhaustion == timedelta(0)


def test_status_is_healthy_exactly_at_budget_and_breached_one_event_over() -> None:
    at = budget_status(
        SLO_999,
        999_000,
        1_000_000,
        current_good=1,
        current_valid=1,
        period=THIRTY_DAYS,
        time_left=THIRTY_DAYS,
    )
    over = budget_status(
        SLO_999,
        998_999,
        1_000_000,
        current_good=1,
        current_valid=1,
        period=THIRTY_DAYS,
        time_left=THIRTY_DAYS,
    )
    assert at.consumed == pytest.approx(1.0)
    assert at.status == "at_risk"  # nothing left, but the objective is still met
    assert over.status == "breached"


def test_status_is_at_risk_when_little_budget_remains() -> None:
    s = budget_status(
        SLO_999,
        1_000_000 - 800,
        1_000_000,
        current_good=1000,
        current_valid=1000,
        period=THIRTY_DAYS,
        time_left=THIRTY_DAYS,
    )
    assert s.remaining == pytest.approx(0.2)
    assert s.status == "at_risk"


def test_status_is_at_risk_when_current_burn_exhausts_budget_before_period_ends() -> None:
    # R = 0.6, b = 1.2 → 15 d to exhaustion; 20 d left in a calendar month → at risk
    kwargs = {"current_good": 1000 - 1.2, "current_valid": 1000, "period": THIRTY_DAYS}
    risky = budget_status(SLO_999, 999_600, 1_000_000, time_left=timedelta(days=20), **kwargs)
    fine = budget_status(SLO_999, 999_600, 1_000_000, time_left=timedelta(days=10), **kwargs)
    assert risky.time_to_exhaustion is not None
    assert risky.time_to_exhaustion.total_seconds() == pytest.approx(15 * 86400)
    assert risky.status == "at_risk"
    assert fine.status == "healthy"


def test_status_is_insufficient_data_when_no_valid_events() -> None:
    s = budget_status(
        SLO_999, 0, 0, current_good=0, current_valid=0, period=THIRTY_DAYS, time_left=THIRTY_DAYS
    )
    assert s.status == "insufficient_data"
    assert math.isnan(s.sli)


@pytest.mark.parametrize(
    ("at", "days", "start"),
    [
        (datetime(2026, 2, 14, 9, tzinfo=UTC), 28, datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), 29, datetime(2028, 2, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 31, datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_calendar_month_period_has_the_months_length(
    at: datetime, days: int, start: datetime
) -> None:
    slo = SLO(Decimal("0.99"), CalendarMonth())
    assert period_length(slo, at) == timedelta(days=days)
    assert month_bounds(at) == (start, start + timedelta(days=days))
    assert slo.nominal_period == THIRTY_DAYS


@pytest.mark.parametrize(
    ("objective", "period", "field"),
    [
        (Decimal("1"), THIRTY_DAYS, "objective"),
        (Decimal("0"), THIRTY_DAYS, "objective"),
        (Decimal("0.99"), timedelta(minutes=30), "period"),
        (Decimal("0.99"), timedelta(days=91), "period"),
    ],
)
def test_invalid_slo_is_rejected_naming_the_field(
    objective: Decimal, period: timedelta, field: str
) -> None:
    with pytest.raises(InvalidInput, match=field):
        SLO(objective, period)


def test_burn_rate_rejects_more_bad_than_valid() -> None:
    with pytest.raises(InvalidInput, match="bad"):
        burn_rate(SLO_999, 5, 3)
