"""SLO compliance summary per period (METHODS.md §2.7)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from llmpulse.analysis.slo import (
    SLO,
    BucketSeries,
    CalendarMonth,
    Period,
    burn_rules,
    calendar_months,
    compliance,
)
from llmpulse.domain.errors import InvalidInput

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def _two_days() -> BucketSeries:
    # day 1: 1000 requests, 10 bad; day 2: 10 requests, 5 bad (one request a minute)
    valid = np.zeros(2 * 1440)
    bad = np.zeros(2 * 1440)
    valid[:1000] = 1
    bad[:10] = 1
    valid[1440:1450] = 1
    bad[1440:1445] = 1
    return BucketSeries.of(T0, MINUTE, valid - bad, valid)


def test_sli_is_ratio_of_sums_not_mean_of_daily_slis() -> None:
    # §2.7 oracle: 1 - 15/1010 = 0.985149, not (0.99 + 0.50)/2 = 0.745
    slo = SLO(Decimal("0.99"), timedelta(days=2))
    (both,) = compliance(slo, _two_days(), [Period("2d", T0, T0 + 2 * DAY)], [])
    assert both.sli == pytest.approx(0.985149, abs=1e-6)
    assert both.good == 995
    assert both.valid == 1010
    assert both.consumed == pytest.approx(15 / 10.1)
    assert both.met is False


def test_budget_used_per_day() -> None:
    slo = SLO(Decimal("0.99"), timedelta(days=2))
    days = [Period("d1", T0, T0 + DAY), Period("d2", T0 + DAY, T0 + 2 * DAY)]
    d1, d2 = compliance(slo, _two_days(), days, [])
    assert (d1.sli, d2.sli) == pytest.approx((0.99, 0.5))
    assert d1.consumed == pytest.approx(1.0)
    assert d1.met is True  # exactly on target
    assert d2.consumed == pytest.approx(50.0)
    assert d2.remaining == pytest.approx(-49.0)
    assert d1.coverage == pytest.approx(1000 / 1440)
    assert d2.coverage == pytest.approx(10 / 1440)


def test_period_without_data_has_no_sli() -> None:
    slo = SLO(Decimal("0.99"), timedelta(days=2))
    (empty,) = compliance(slo, _two_days(), [Period("later", T0 + 3 * DAY, T0 + 4 * DAY)], [])
    assert math.isnan(empty.sli)
    assert empty.met is None
    assert empty.coverage == 0.0


def test_months_count_pages_burn_and_firing_time_of_planted_outages() -> None:
    # November and December 2026 at 100 req/min and burn 0.2; one 20-minute full outage in
    # each month, the December one twice as long (4000 bad of a 4464 budget, plus background).
    slo = SLO(Decimal("0.999"), CalendarMonth())
    rules = burn_rules(slo)
    minutes = 61 * 1440
    valid = np.full(minutes, 100.0)
    bad = np.random.default_rng(5).binomial(100, 0.0002, size=minutes).astype(np.float64)
    bad[10 * 1440 : 10 * 1440 + 20] = 100
    dec = 30 * 1440
    bad[dec + 5 * 1440 : dec + 5 * 1440 + 40] = 100
    series = BucketSeries.of(T0, MINUTE, valid - bad, valid)
    months = calendar_months(T0, T0 + 61 * DAY)
    assert [m.label for m in months] == ["2026-11", "2026-12"]
    nov, dec_c = compliance(slo, series, months, rules)
    assert nov.alerts["page"] == 1
    assert dec_c.alerts["page"] == 1
    assert nov.valid == 30 * 1440 * 100
    # 20 min of total outage is 2000 bad of 4.32M: 0.463 of the budget plus background
    assert 0.46 < nov.consumed < 0.7
    assert nov.met is True
    assert dec_c.consumed > 1.0
    assert dec_c.met is False
    assert nov.max_burn[timedelta(minutes=5)] == pytest.approx(1000.0)
    assert nov.max_burn[timedelta(hours=1)] == pytest.approx(20 / 60 * 1000, rel=0.01)
    assert dec_c.time_firing["page_quick"] > nov.time_firing["page_quick"] > timedelta(0)
    assert nov.coverage == pytest.approx(1.0)


def test_calendar_months_cover_the_range_with_whole_months() -> None:
    months = calendar_months(datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    assert [(m.label, (m.end - m.start).days) for m in months] == [
        ("2026-01", 31),
        ("2026-02", 28),
        ("2026-03", 31),
    ]
    with pytest.raises(InvalidInput, match="after start"):
        calendar_months(T0, T0)
