"""Exact percentiles (§1.10), order-statistic CIs and the percentile bootstrap (§4.5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from llmpulse.analysis.percentiles import (
    bootstrap_percentile_difference,
    order_statistic_ranks,
    percentile,
    percentile_interval,
)
from llmpulse.domain.errors import InvalidInput


@pytest.mark.parametrize(("q", "expected"), [(0.9, 9.1), (0.5, 5.5)])
def test_percentile_uses_numpy_linear_when_given_one_to_ten(q: float, expected: float) -> None:
    # METHODS.md §1.10 test oracle (a): linear 9.1 at q = 0.9, 5.5 at q = 0.5
    assert math.isclose(percentile(np.arange(1, 11), q), expected, rel_tol=1e-12)


def test_percentile_of_merged_values_is_not_mean_of_percentiles_when_windows_differ() -> None:
    # METHODS.md §1.10 test oracle (c) and R2: 99.01, 1.0, mean 50.005, merged 89.01
    a, b = np.arange(1, 101, dtype=float), np.ones(1000)
    assert math.isclose(percentile(a, 0.99), 99.01, rel_tol=1e-12)
    assert percentile(b, 0.99) == 1.0
    assert math.isclose((percentile(a, 0.99) + percentile(b, 0.99)) / 2, 50.005, rel_tol=1e-12)
    assert math.isclose(percentile(np.concatenate([a, b]), 0.99), 89.01, rel_tol=1e-9)


def test_percentile_is_nan_when_sample_is_empty() -> None:
    # METHODS.md R3
    assert math.isnan(percentile([], 0.5))


@pytest.mark.parametrize(
    ("n", "q", "low", "high", "coverage"),
    [(100, 0.5, 40, 61, 0.964800), (1000, 0.99, 983, 997, 0.976095)],
)
def test_order_statistic_ranks_match_oracle_when_given_methods_examples(
    n: int, q: float, low: int, high: int, coverage: float
) -> None:
    # METHODS.md §4.5 test oracle
    lo, hi, cov = order_statistic_ranks(n, q)
    assert (lo, hi) == (low, high)
    assert math.isclose(cov, coverage, abs_tol=5e-7)


def test_percentile_interval_returns_order_statistics_when_values_are_one_to_hundred() -> None:
    # METHODS.md §4.5: (x_(40), x_(61)) for the median, n = 100
    values = np.random.default_rng(1).permutation(np.arange(1, 101, dtype=float))
    iv = percentile_interval(values, 0.5)
    assert (iv.low, iv.high, iv.estimate) == (40.0, 61.0, 50.5)
    assert iv.sufficient


def test_percentile_interval_is_insufficient_when_sample_is_too_small() -> None:
    # METHODS.md §4.5: the p99 ranks do not exist for n = 20
    iv = percentile_interval(np.arange(20.0), 0.99)
    assert not iv.sufficient
    assert math.isnan(iv.low)
    assert math.isnan(iv.high)


def test_order_statistic_coverage_is_at_least_nominal_when_n_varies() -> None:
    # METHODS.md §4.5: equal-tailed ranks give coverage ≥ 95 % where they exist
    for n in (50, 200, 777):
        lo, hi, cov = order_statistic_ranks(n, 0.9)
        b = stats.binom(n, 0.9)
        assert math.isclose(cov, b.cdf(hi - 1) - b.cdf(lo - 1), rel_tol=1e-12)
        assert cov >= 0.95


def test_bootstrap_is_reproducible_when_seed_is_fixed() -> None:
    # METHODS.md §4.5: seed the RNG and store it with the result
    rng = np.random.default_rng(0)
    x, y = rng.lognormal(6.0, 0.5, 400), rng.lognormal(5.8, 0.5, 500)
    first = bootstrap_percentile_difference(x, y, 0.9, seed=123)
    again = bootstrap_percentile_difference(x, y, 0.9, seed=123)
    other = bootstrap_percentile_difference(x, y, 0.9, seed=124)
    assert first == again
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.seed == 123
    assert first.n_resamples == 2000


def test_bootstrap_brackets_a_real_shift_when_samples_differ() -> None:
    # METHODS.md §4.5: percentile bootstrap of the difference of p90s
    rng = np.random.default_rng(2)
    x, y = rng.normal(300, 20, 1000), rng.normal(200, 20, 1000)
    res = bootstrap_percentile_difference(x, y, 0.9, n_resamples=500, seed=1)
    assert res.sufficient
    assert res.ci_low < res.diff < res.ci_high
    assert res.ci_low > 90
    assert res.ci_high < 110
    assert math.isclose(res.diff, percentile(x, 0.9) - percentile(y, 0.9), rel_tol=1e-12)


def test_bootstrap_reports_insufficient_when_tail_has_fewer_than_ten_points() -> None:
    # METHODS.md §4.1/§4.5: n·(1 - q) ≥ 10 required (here 500·0.01 = 5)
    res = bootstrap_percentile_difference(np.arange(500.0), np.arange(2000.0), 0.99)
    assert not res.sufficient
    assert math.isnan(res.ci_low)
    assert math.isnan(res.ci_high)
    assert not math.isnan(res.diff)


def test_percentile_rejects_q_when_outside_unit_interval() -> None:
    with pytest.raises(InvalidInput):
        percentile([1.0, 2.0], 95)
