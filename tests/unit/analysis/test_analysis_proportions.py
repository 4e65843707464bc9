"""Proportions: Wilson (§1.9), two-proportion z and Fisher (§4.2), Newcombe CI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from llmpulse.analysis.proportions import (
    compare_proportions,
    fisher_exact,
    needs_exact_test,
    newcombe_interval,
    two_proportion_z,
    wilson_interval,
)
from llmpulse.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [(5, 100, 0.0215437, 0.1117505), (0, 20, 0.0, 0.1611252), (1, 1000, 0.0001765, 0.0056426)],
)
def test_wilson_interval_matches_oracle_when_given_methods_examples(
    x: int, n: int, low: float, high: float
) -> None:
    # METHODS.md §1.9 test oracle
    lo, hi = wilson_interval(x, n)
    assert math.isclose(float(lo[0]), low, abs_tol=5e-7)
    assert math.isclose(float(hi[0]), high, abs_tol=5e-7)


def test_wilson_interval_is_vectorised_and_nan_when_n_is_zero() -> None:
    # METHODS.md §1.9 (and R3: no data is not zero)
    lo, hi = wilson_interval([5, 0, 3], [100, 20, 0])
    assert math.isclose(lo[0], 0.0215437, abs_tol=5e-7)
    assert math.isclose(hi[1], 0.1611252, abs_tol=5e-7)
    assert math.isnan(lo[2])
    assert math.isnan(hi[2])


def test_two_proportion_z_matches_oracle_when_30_of_200_vs_45_of_1000() -> None:
    # METHODS.md §4.2 test oracle: z = 5.6 exactly, p = 2.1435e-08
    z, p = two_proportion_z(30, 200, 45, 1000)
    assert math.isclose(z[0], 5.6, rel_tol=1e-9)
    assert math.isclose(p[0], 2.1435e-08, rel_tol=1e-4)


def test_two_proportion_z_matches_oracle_when_segment_40_of_400_vs_rest_8_of_800() -> None:
    # METHODS.md §4.2 test oracle: z = 7.5
    z, _ = two_proportion_z(40, 400, 8, 800)
    assert math.isclose(z[0], 7.5, rel_tol=1e-9)


def test_fisher_exact_matches_oracle_when_30_of_200_vs_45_of_1000() -> None:
    # METHODS.md §4.2 test oracle: odds ratio 3.745098, p = 5.0899e-07
    odds, p = fisher_exact(30, 200, 45, 1000)
    assert math.isclose(odds, 3.745098, rel_tol=1e-6)
    assert math.isclose(p, 5.0899e-07, rel_tol=1e-4)


def test_two_proportion_z_agrees_with_manual_formula_when_data_is_random() -> None:
    # METHODS.md §4.2 formula, written out independently
    rng = np.random.default_rng(7)
    n1, n2 = rng.integers(50, 5000, 200), rng.integers(50, 5000, 200)
    x1, x2 = rng.binomial(n1, 0.05), rng.binomial(n2, 0.07)
    z, p = two_proportion_z(x1, n1, x2, n2)
    for i in range(200):
        pooled = (x1[i] + x2[i]) / (n1[i] + n2[i])
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1[i] + 1 / n2[i]))
        z_ref = (x1[i] / n1[i] - x2[i] / n2[i]) / se
        p_ref = 2 * (1 - 0.5 * (1 + math.erf(abs(z_ref) / math.sqrt(2))))
        assert math.isclose(z[i], z_ref, rel_tol=1e-9)
        assert math.isclose(p[i], p_ref, rel_tol=1e-6, abs_tol=1e-12)


def test_fisher_exact_agrees_with_scipy_when_tables_are_random() -> None:
    # METHODS.md §4.2: scipy.stats.fisher_exact
    rng = np.random.default_rng(11)
    for _ in range(20):
        n1, n2 = (int(v) for v in rng.integers(5, 60, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        ref = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])
        assert fisher_exact(x1, n1, x2, n2) == (pytest.approx(ref.statistic), ref.pvalue)


def test_two_proportion_z_gives_p_one_when_both_groups_have_no_events() -> None:
    # METHODS.md §4.2: degenerate pooled rate 0
    z, p = two_proportion_z(0, 100, 0, 300)
    assert z[0] == 0.0
    assert p[0] == 1.0


def test_compare_proportions_falls_back_to_fisher_when_expected_counts_are_small() -> None:
    # METHODS.md §4.1: expected counts < 5 → Fisher exact
    cmp = compare_proportions([3, 30], [40, 200], [2, 45], [2000, 1000])
    assert list(cmp.exact) == [True, False]
    ref = stats.fisher_exact([[3, 37], [2, 1998]])
    assert math.isclose(cmp.p_value[0], ref.pvalue, rel_tol=1e-12)
    assert math.isclose(cmp.p_value[1], 2.1435e-08, rel_tol=1e-4)
    assert math.isclose(cmp.diff[1], 0.15 - 0.045, rel_tol=1e-12)


def test_needs_exact_test_uses_pooled_expected_counts_when_segment_is_small() -> None:
    # METHODS.md §4.1 (pooled expected cells, Cochran's rule)
    assert not needs_exact_test(40, 400, 8, 800)[0]  # 400·0.04 = 16 ≥ 5
    assert needs_exact_test(1, 20, 10, 1000)[0]  # 20·0.0108 < 5


def test_newcombe_interval_matches_published_example_when_56_of_70_vs_48_of_80() -> None:
    # METHODS.md §4.2 (Newcombe 1998, Stat. Med. 17, Table II example (a), method 10)
    low, high = newcombe_interval(56, 70, 48, 80)
    assert math.isclose(low[0], 0.0524, abs_tol=5e-5)
    assert math.isclose(high[0], 0.3339, abs_tol=5e-5)


def test_newcombe_interval_contains_the_difference_when_counts_are_random() -> None:
    # METHODS.md §4.2: the interval brackets p̂1 - p̂2 and stays within [-1, 1]
    rng = np.random.default_rng(3)
    n1, n2 = rng.integers(1, 500, 100), rng.integers(1, 500, 100)
    x1, x2 = rng.binomial(n1, 0.3), rng.binomial(n2, 0.2)
    low, high = newcombe_interval(x1, n1, x2, n2)
    d = x1 / n1 - x2 / n2
    assert np.all(low <= d + 1e-12)
    assert np.all(d <= high + 1e-12)
    assert np.all(low >= -1)
    assert np.all(high <= 1)


def test_wilson_interval_rejects_confidence_when_outside_unit_interval() -> None:
    with pytest.raises(InvalidInput):
        wilson_interval(1, 10, confidence=1.0)
