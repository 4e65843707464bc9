"""Burn-rate rules evaluated over per-minute good/valid counts (METHODS.md §2.4).

Outages and leaks of known size are planted in seeded traffic; the page must fire within the
detection time the method predicts (t = factor·ε·long / e), a slow leak must raise only the
ticket, and traffic with no effect must raise nothing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pytest

from llmpulse.analysis.slo import (
    SLO,
    BucketSeries,
    BurnRule,
    burn_rules,
    evaluate_at,
    firing_series,
)
from llmpulse.domain.errors import InvalidInput

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SLO_999 = SLO(Decimal("0.999"), timedelta(days=30))
RULES = burn_rules(SLO_999)
RATE = 1000  # requests per minute


def _traffic(
    minutes: int, error_ratio: npt.NDArray[np.float64], *, seed: int | None
) -> BucketSeries:
    valid = np.full(minutes, RATE, dtype=np.float64)
    if seed is None:
        bad = np.round(valid * error_ratio)
    else:
        bad = np.random.default_rng(seed).binomial(RATE, error_ratio).astype(np.float64)
    return BucketSeries.of(T0, MINUTE, valid - bad, valid)


def _first(firing: npt.NDArray[np.bool_], start: int) -> int:
    hits = np.flatnonzero(firing[start:])
    return int(hits[0]) + 1 if hits.size else -1  # minutes of outage until it fired


def _rule(name: str) -> BurnRule:
    return next(r for r in RULES if r.name == name)


def _predicted_minutes(rule: BurnRule, e: float) -> float:
    # §2.4: t_detect = burn·ε·long / e
    return float(rule.threshold) * rule.long.total_seconds() / 60 / e


@pytest.mark.parametrize(
    ("e", "rule_name"),
    [(1.0, "page_quick"), (0.1, "page_quick"), (0.1, "page_slow"), (0.03, "page_slow")],
)
def test_outage_fires_rule_when_method_predicts_on_clean_traffic(e: float, rule_name: str) -> None:
    start, minutes = 24 * 60, 2 * 24 * 60
    ratio = np.zeros(minutes)
    ratio[start:] = e
    firing = firing_series([_rule(rule_name)], _traffic(minutes, ratio, seed=None))[rule_name]
    assert not firing[:start].any()
    predicted = _predicted_minutes(_rule(rule_name), e)
    # detected in the first whole minute after the long-window ratio passes the threshold
    assert _first(firing, start) == math.floor(round(predicted, 9)) + 1  # strict ">" at 72.0


def test_replayed_outage_pages_within_predicted_time_and_resets_after_recovery() -> None:
    # seeded traffic at burn 0.3 for two days, then a 10 % error outage for 40 minutes
    start, length, minutes = 2 * 24 * 60, 40, 3 * 24 * 60
    ratio = np.full(minutes, 0.0003)
    ratio[start : start + length] = 0.1
    firing = firing_series(RULES, _traffic(minutes, ratio, seed=11))
    predicted = min(_predicted_minutes(r, 0.1) for r in RULES if r.severity == "page")
    assert predicted == pytest.approx(8.64)
    assert not firing["page"][:start].any()
    assert 8 <= _first(firing["page"], start) <= math.ceil(predicted) + 1
    # the short windows let it reset: page_quick within 5 min, page_slow within 30 min
    assert not firing["page_quick"][start + length + 5 :].any()
    assert not firing["page"][start + length + 30 :].any()
    assert firing["page"][start + length + 25]  # the 6 h window alone would still hold it


def test_full_outage_pages_in_first_minute() -> None:
    # 100 % errors: 0.0144·3600 s = 51.84 s, so the first minute bucket fires
    start, minutes = 120, 240
    ratio = np.full(minutes, 0.0002)
    ratio[start:] = 1.0
    firing = firing_series(RULES, _traffic(minutes, ratio, seed=3))
    assert _first(firing["page"], start) == 1


def test_slow_leak_raises_only_the_ticket() -> None:
    # burn 2 (0.2 % errors) after 3 clean days: above the 3 d ticket (factor 1), below 3, 6, 14.4
    start, minutes = 3 * 24 * 60, 6 * 24 * 60
    ratio = np.full(minutes, 0.0002)
    ratio[start:] = 0.002
    firing = firing_series(RULES, _traffic(minutes, ratio, seed=7))
    assert not firing["page"].any()
    assert not firing["ticket_quick"].any()
    assert firing["ticket"].any()
    # 3 d window passes ε once (0.002·k + 0.0002·(4320 - k))/4320 > 0.001 → k ≈ 1920 min
    fired_after = _first(firing["ticket"], start)
    assert 1800 <= fired_after <= 2100
    assert firing["ticket"][-1]


@pytest.mark.parametrize(("rate", "burn"), [(1000, 0.5), (5, 0.5), (2000, 0.9)])
def test_no_rule_fires_on_30_days_without_effect(rate: int, burn: float) -> None:
    minutes = 30 * 24 * 60
    valid = np.full(minutes, rate, dtype=np.float64)
    bad = np.random.default_rng(rate).binomial(rate, burn * 0.001, size=minutes).astype(np.float64)
    firing = firing_series(RULES, BucketSeries.of(T0, MINUTE, valid - bad, valid))
    assert {name: int(f.sum()) for name, f in firing.items() if f.any()} == {}


def test_low_traffic_guard_needs_139_events_in_short_window() -> None:
    # §2.4 oracle: 139 events in 5 min with 2 failures never pages, 3 do
    def series(bad_last: int) -> BucketSeries:
        valid = np.zeros(60)
        valid[55:] = [28, 28, 28, 28, 27]  # 139 in the last 5 minutes, nothing else
        bad = np.zeros(60)
        bad[59] = bad_last
        return BucketSeries.of(T0, MINUTE, valid - bad, valid)

    at = T0 + 60 * MINUTE
    rule = [_rule("page_quick")]
    assert not evaluate_at(rule, series(2), at)[0].firing
    hit = evaluate_at(rule, series(3), at)[0]
    assert hit.firing
    assert hit.short_valid == 139
    assert hit.short_ratio == pytest.approx(3 / 139)
    # 138 events: 3 failures are above the ratio but below the traffic floor
    valid = np.zeros(60)
    valid[55:] = [28, 28, 28, 27, 27]
    bad = np.zeros(60)
    bad[59] = 3
    assert not evaluate_at(rule, BucketSeries.of(T0, MINUTE, valid - bad, valid), at)[0].firing


def test_evaluate_at_reports_window_ratios_by_hand() -> None:
    # 60 minutes x 100 requests; the last 5 minutes have 10 bad each: short 50/500, long 50/6000
    valid = np.full(60, 100.0)
    bad = np.zeros(60)
    bad[55:] = 10
    series = BucketSeries.of(T0, MINUTE, valid - bad, valid)
    (v,) = evaluate_at([_rule("page_quick")], series, T0 + 60 * MINUTE)
    assert v.short_ratio == pytest.approx(0.1)
    assert v.long_ratio == pytest.approx(50 / 6000)
    assert not v.firing  # 0.00833 < 0.0144 on the long window
    (early,) = evaluate_at([_rule("page_quick")], series, T0 + 55 * MINUTE)
    assert early.short_ratio == 0.0


def test_empty_windows_never_fire() -> None:
    # R3: no valid events → no ratio, not zero and not an alert
    series = BucketSeries.of(T0, MINUTE, np.zeros(120), np.zeros(120))
    (v,) = evaluate_at([_rule("page_quick")], series, T0 + 120 * MINUTE)
    assert math.isnan(v.long_ratio)
    assert not v.firing


def test_invalid_series_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="good <= valid"):
        BucketSeries.of(T0, MINUTE, [5.0], [3.0])
    with pytest.raises(InvalidInput, match="same length"):
        BucketSeries.of(T0, MINUTE, [1.0], [1.0, 2.0])
    series = BucketSeries.of(T0, timedelta(minutes=7), np.zeros(100), np.ones(100))
    with pytest.raises(InvalidInput, match="whole number"):
        firing_series(RULES, series)
    with pytest.raises(InvalidInput, match="outside"):
        evaluate_at(RULES, BucketSeries.of(T0, MINUTE, [1.0], [1.0]), T0)
