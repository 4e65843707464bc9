"""Burn-rate rule table scaled to the SLO's period (METHODS.md §2.4, §2.5): golden tests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from llmpulse.analysis.slo import (
    GOOGLE_TABLE,
    SLO,
    CalendarMonth,
    WindowRow,
    burn_rules,
    scale_table,
)
from llmpulse.domain.errors import InvalidInput

H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_rules_match_workbook_table_when_999_over_30_days() -> None:
    rules = burn_rules(SLO(Decimal("0.999"), timedelta(days=30)))
    got = [(r.name, r.severity, r.long, r.short, r.factor, r.threshold) for r in rules]
    assert got == [
        ("page_quick", "page", H, 5 * M, Decimal("14.4"), Decimal("0.0144")),
        ("page_slow", "page", 6 * H, 30 * M, Decimal("6"), Decimal("0.006")),
        ("ticket_quick", "ticket", 24 * H, 2 * H, Decimal("3"), Decimal("0.003")),
        ("ticket_slow", "ticket", 72 * H, 6 * H, Decimal("1"), Decimal("0.001")),
    ]


def test_rules_match_sloth_google_28d_when_period_is_28_days() -> None:
    rules = burn_rules(SLO(Decimal("0.999"), timedelta(days=28)))
    assert [float(r.factor) for r in rules] == pytest.approx([13.44, 5.6, 2.8, 0.933333], rel=1e-6)
    assert [r.long for r in rules] == [H, 6 * H, 24 * H, 72 * H]  # windows fixed, factors scale


def test_calendar_month_uses_the_nominal_30_day_factors() -> None:
    rules = burn_rules(SLO(Decimal("0.995"), CalendarMonth()))
    assert [r.factor for r in rules] == [Decimal("14.4"), Decimal("6"), Decimal("3"), Decimal("1")]
    assert rules[0].threshold == Decimal("0.0720")


def test_seven_day_slo_recomputes_factors_instead_of_reusing_30_day_ones() -> None:
    # §2.2 pitfall: 0.02·168 h / 1 h = 3.36, not 14.4
    rules = burn_rules(SLO(Decimal("0.99"), timedelta(days=7)))
    assert [r.factor for r in rules] == [
        Decimal("3.36"),
        Decimal("1.4"),
        Decimal("0.7"),
        Decimal("0.2333333333333333333333333333"),
    ]


def test_short_window_minimum_matches_low_traffic_oracle() -> None:
    # §2.4: 99.9 %, burn 14.4 → n ≥ 2/0.0144 = 138.9 → 139; 2/139 < 0.0144 < 3/139
    rule = burn_rules(SLO(Decimal("0.999"), timedelta(days=30)))[0]
    assert rule.min_short_valid == 139
    assert 2 / 139 < float(rule.threshold) < 3 / 139
    assert (
        burn_rules(SLO(Decimal("0.999"), timedelta(days=30)), min_failures=1)[0].min_short_valid
        == 0
    )


def test_custom_table_row_derives_factor_from_budget_share() -> None:
    # METHODS §2.4 oracle: (10 %, 24 h) on 30 d → 3.0
    row = WindowRow("daily", "ticket", Decimal("10"), 24 * H, 2 * H)
    (rule,) = burn_rules(SLO(Decimal("0.999"), timedelta(days=30)), (row,))
    assert rule.factor == Decimal("3")


def test_table_with_long_window_beyond_period_is_rejected_naming_the_row() -> None:
    with pytest.raises(InvalidInput, match="ticket_quick"):
        burn_rules(SLO(Decimal("0.99"), timedelta(hours=12)))


def test_row_with_short_window_not_shorter_than_long_is_rejected() -> None:
    row = WindowRow("bad", "page", Decimal("2"), H, H)
    with pytest.raises(InvalidInput, match="bad: short window"):
        burn_rules(SLO(Decimal("0.99"), timedelta(days=30)), (row,))


def test_scaled_table_keeps_30_day_factors_for_a_one_day_slo() -> None:
    table = scale_table(GOOGLE_TABLE, timedelta(days=1))
    assert [(r.long, r.short) for r in table] == [
        (2 * M, M),
        (12 * M, M),
        (48 * M, 4 * M),
        (144 * M, 12 * M),
    ]
    rules = burn_rules(SLO(Decimal("0.99"), timedelta(days=1)), table)
    assert [r.factor for r in rules] == [Decimal("14.4"), Decimal("6"), Decimal("3"), Decimal("1")]
