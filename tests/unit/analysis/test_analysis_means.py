"""Means from sums, Welch's t-test (§4.3) and SliceFinder's φ (§4.8)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from llmpulse.analysis.means import (
    bernoulli_variance,
    phi_effect_size,
    summary_from_sums,
    welch_from_summary,
)

A = np.array([1.2, 1.5, 1.1, 1.8, 2.0, 1.4])
B = np.array([2.1, 2.5, 2.2, 3.0, 2.8, 2.6, 2.4, 2.9])


def _summary(x: np.ndarray) -> tuple[float, float, int]:
    (mean,), (var,) = summary_from_sums(x.size, x.sum(), (x**2).sum())
    return float(mean), float(var), x.size


def test_welch_matches_oracle_when_given_methods_example() -> None:
    # METHODS.md §4.3 test oracle: t = -5.8319321, df = 10.506338, p = 1.36447e-04
    w = welch_from_summary(*_summary(A), *_summary(B))
    assert math.isclose(w.t[0], -5.8319321, rel_tol=1e-6)
    assert math.isclose(w.df[0], 10.506338, rel_tol=1e-6)
    assert math.isclose(w.p_value[0], 1.36447e-04, rel_tol=1e-5)


def test_welch_from_summary_equals_scipy_ttest_when_data_is_random() -> None:
    # METHODS.md §4.3: scipy.stats.ttest_ind(equal_var=False) on the raw data
    rng = np.random.default_rng(42)
    for _ in range(25):
        a = rng.lognormal(0.0, 1.0, int(rng.integers(5, 400)))
        b = rng.lognormal(0.2, 0.8, int(rng.integers(5, 400)))
        w = welch_from_summary(*_summary(a), *_summary(b))
        ref = stats.ttest_ind(a, b, equal_var=False)
        assert math.isclose(w.t[0], ref.statistic, rel_tol=1e-9)
        assert math.isclose(w.p_value[0], ref.pvalue, rel_tol=1e-7)
        ci = ref.confidence_interval(0.95)
        assert math.isclose(w.ci_low[0], ci.low, rel_tol=1e-7)
        assert math.isclose(w.ci_high[0], ci.high, rel_tol=1e-7)


def test_welch_is_vectorised_when_given_arrays() -> None:
    # METHODS.md §4.3
    ma, va, na = _summary(A)
    mb, vb, nb = _summary(B)
    w = welch_from_summary([ma, mb], [va, vb], [na, nb], [mb, ma], [vb, va], [nb, na])
    assert math.isclose(w.t[0], -w.t[1], rel_tol=1e-12)


def test_welch_is_nan_when_a_group_has_one_value() -> None:
    # METHODS.md R3: undefined variance is reported, not zero
    w = welch_from_summary(1.0, float("nan"), 1, 2.0, 1.0, 10)
    assert math.isnan(w.p_value[0])


def test_summary_from_sums_matches_numpy_when_values_are_offset_by_a_billion() -> None:
    # METHODS.md R6 (ddof=1) and §4.3 inputs: shifted sums avoid catastrophic cancellation
    rng = np.random.default_rng(5)
    x = 1e9 + rng.normal(0.0, 1.0, 10_000)
    shift = 1e9
    (mean,), (var,) = summary_from_sums(
        x.size, (x - shift).sum(), ((x - shift) ** 2).sum(), shift=shift
    )
    assert math.isclose(mean, x.mean(), rel_tol=1e-12)
    assert math.isclose(var, x.var(ddof=1), rel_tol=1e-6)


def test_summary_from_sums_never_returns_negative_variance_when_values_are_constant() -> None:
    # METHODS.md §4.3: rounding is clipped at 0
    x = np.full(1000, 0.1)
    (_,), (var,) = summary_from_sums(x.size, x.sum(), (x**2).sum())
    assert var >= 0.0
    assert var < 1e-12


def test_phi_matches_both_oracle_conventions_when_given_slicefinder_example() -> None:
    # METHODS.md §4.8 test oracle: sample variances → 1.2780193 (our convention),
    # population variances → 1.4439897 (shown only to pin which one we use)
    s, rest = np.array([1, 1, 0, 1.0]), np.array([0, 0, 1, 0, 0, 0.0])
    sample = phi_effect_size(s.mean(), s.var(ddof=1), rest.mean(), rest.var(ddof=1))
    population = phi_effect_size(s.mean(), s.var(), rest.mean(), rest.var())
    assert math.isclose(sample[0], 1.2780193, rel_tol=1e-6)
    assert math.isclose(population[0], 1.4439897, rel_tol=1e-6)
    bern = phi_effect_size(0.75, bernoulli_variance(3, 4), 1 / 6, bernoulli_variance(1, 6))
    assert math.isclose(bern[0], 1.2780193, rel_tol=1e-6)


def test_phi_is_zero_when_both_groups_are_constant_and_equal() -> None:
    # METHODS.md §4.8: degenerate scale
    assert phi_effect_size(1.0, 0.0, 1.0, 0.0)[0] == 0.0
    assert phi_effect_size(2.0, 0.0, 1.0, 0.0)[0] == math.inf


@pytest.mark.parametrize("confidence", [0.0, 1.5])
def test_welch_rejects_confidence_when_outside_unit_interval(confidence: float) -> None:
    from llmpulse.domain.errors import InvalidInput

    with pytest.raises(InvalidInput):
        welch_from_summary(1, 1, 5, 2, 1, 5, confidence=confidence)
