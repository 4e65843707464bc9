"""Selection rates, demographic parity and the four-fifths rule (§4.9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmpulse.analysis.fairness import fairness_report
from llmpulse.analysis.proportions import wilson_interval
from llmpulse.domain.errors import InvalidInput


def test_fairness_report_matches_oracle_when_30_of_100_vs_20_of_100() -> None:
    # METHODS.md §4.9 test oracle: difference 0.10, ratio 0.6667, fails the 4/5 rule
    report = fairness_report(["A", "B"], [30, 20], [100, 100])
    assert math.isclose(report.parity_difference or 0, 0.10, rel_tol=1e-12)
    assert math.isclose(report.parity_ratio or 0, 0.6667, abs_tol=5e-5)
    assert report.most_favoured == "A"
    a, b = report.groups
    assert a.passes_four_fifths is True
    assert a.impact_ratio == 1.0
    assert b.impact_ratio == pytest.approx(2 / 3)
    # §4.11: with 100 per group the ratio's CI crosses 0.8, so the rule cannot decide ...
    assert b.ratio_ci_low is not None
    assert b.ratio_ci_high is not None
    assert b.ratio_ci_low < 0.8 < b.ratio_ci_high
    assert b.four_fifths == "inconclusive"
    assert b.passes_four_fifths is None
    # ... and with 100 times the data it fails
    big = fairness_report(["A", "B"], [3000, 2000], [10000, 10000])
    assert big.groups[1].four_fifths == "fail"
    assert big.adverse_groups == ("B",)
    assert big.groups[1].ratio_ci_high is not None
    assert big.groups[1].ratio_ci_high < 0.8


def test_fairness_on_error_rate_favours_the_fewest_errors_and_uses_one_minus_the_rate() -> None:
    # issue 15, defect 4: with error:rate the tier with the most errors was "most favoured"
    report = fairness_report(["free", "pro"], [600, 50], [2000, 2000], direction="higher_is_worse")
    assert report.most_favoured == "pro"
    free, pro = report.groups
    assert free.favourable_rate == pytest.approx(0.7)
    assert free.impact_ratio == pytest.approx(0.7 / 0.975)
    assert free.four_fifths == "fail"
    assert report.adverse_groups == ("free",)
    assert pro.four_fifths == "pass"


def test_fairness_with_a_small_error_gap_passes_on_the_favourable_outcome() -> None:
    # 5 % vs 2 % errors: the favourable ratio 0.95/0.98 is far above 0.8, a pass, although the
    # ratio of the error rates themselves (0.4) would have failed the rule
    report = fairness_report(["a", "b"], [100, 40], [2000, 2000], direction="higher_is_worse")
    assert report.groups[0].four_fifths == "pass"
    assert report.adverse_groups == ()


def test_fairness_ratio_interval_widens_with_cluster_robust_variances() -> None:
    plain = fairness_report(["a", "b"], [600, 420], [1000, 1000])
    robust = fairness_report(
        ["a", "b"], [600, 420], [1000, 1000], variances=[0.6 * 0.4 / 100, 0.42 * 0.58 / 100]
    )
    g, h = plain.groups[1], robust.groups[1]
    assert g.ratio_ci_high is not None
    assert h.ratio_ci_high is not None
    assert h.ratio_ci_high > g.ratio_ci_high
    assert g.four_fifths == "fail"
    assert h.four_fifths == "inconclusive"


def test_fairness_report_shows_wilson_intervals_when_groups_are_reported() -> None:
    # METHODS.md §4.9 pitfalls → Wilson CIs per group (§1.9)
    report = fairness_report(["A", "B"], [30, 20], [100, 100])
    low, high = wilson_interval([30, 20], [100, 100])
    assert [g.ci_low for g in report.groups] == pytest.approx(list(low))
    assert [g.ci_high for g in report.groups] == pytest.approx(list(high))


def test_fairness_report_suppresses_group_when_below_support() -> None:
    # METHODS.md §4.9 + §4.1: small groups are flagged and excluded from the ratios
    report = fairness_report(["A", "B", "C"], [30, 27, 1], [100, 100, 10])
    c = report.groups[2]
    assert c.suppressed
    assert c.impact_ratio is None
    assert c.passes_four_fifths is None
    assert math.isclose(report.parity_difference or 0, 0.03, rel_tol=1e-9)
    assert math.isclose(report.parity_ratio or 0, 0.9, rel_tol=1e-9)
    assert report.adverse_groups == ()


def test_fairness_report_has_no_ratios_when_fewer_than_two_groups_are_usable() -> None:
    # METHODS.md R3: no comparison is not a comparison of zero
    report = fairness_report(["A", "B"], [5, 1], [200, 3])
    assert report.parity_difference is None
    assert report.parity_ratio is None


def test_fairness_to_rows_gives_one_flat_row_per_group_when_exported() -> None:
    report = fairness_report(["A", "B", "C"], [300, 200, 0], [1000, 1000, 5])
    rows = report.to_rows()
    assert [r["group"] for r in rows] == ["A", "B", "C"]
    assert rows[1]["passes_four_fifths"] is False
    assert rows[1]["four_fifths"] == "fail"
    assert rows[2]["suppressed"] is True
    assert rows[0]["most_favoured"] is True
    assert {r["parity_ratio"] for r in rows} == {report.parity_ratio}
    assert all(
        isinstance(v, str | int | float | bool | type(None)) for r in rows for v in r.values()
    )


def test_fairness_report_picks_first_name_when_most_favoured_groups_tie() -> None:
    report = fairness_report(["z", "y"], np.array([40, 40]), np.array([100, 100]))
    assert report.most_favoured == "y"


def test_fairness_report_rejects_input_when_counts_are_inconsistent() -> None:
    with pytest.raises(InvalidInput):
        fairness_report(["A"], [5, 6], [10, 10])
    with pytest.raises(InvalidInput):
        fairness_report(["A", "A"], [5, 6], [10, 10])
    with pytest.raises(InvalidInput):
        fairness_report(["A"], [11], [10])
