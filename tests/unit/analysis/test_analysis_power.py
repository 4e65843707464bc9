"""Sample size per group for the version comparison."""

from __future__ import annotations

import math

from scipy import stats

from llmpulse.analysis.power import (
    sample_size_mann_whitney,
    sample_size_two_means,
    sample_size_two_proportions,
)


def test_two_proportions_sample_size_matches_textbook_when_10_vs_15_percent() -> None:
    # two-proportion z (METHODS.md §4.2): 0.10 vs 0.15, alpha 0.05, power 0.8 → 686 per group
    assert sample_size_two_proportions(0.10, 0.15) == 686


def test_two_means_sample_size_matches_textbook_when_half_a_standard_deviation() -> None:
    # two-sample means (METHODS.md §4.3): sigma = 1, δ = 0.5 → 2·(1.96 + 0.8416)²/0.25 = 62.8 → 63
    assert sample_size_two_means(1.0, 0.5) == 63


def test_two_proportions_sample_size_achieves_power_when_plugged_back() -> None:
    # the z-test with the returned n has power ≥ 0.8 (normal approximation)
    p1, p2 = 0.02, 0.03
    n = sample_size_two_proportions(p1, p2)
    assert n is not None
    se0 = math.sqrt(2 * 0.025 * 0.975 / n)
    se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
    power = stats.norm.sf((1.959964 * se0 - (p2 - p1)) / se1)
    assert 0.8 <= power < 0.801


def test_mann_whitney_sample_size_follows_noether_when_auc_is_064() -> None:
    # Noether (1987): n per group = (z_{0.975} + z_{0.8})²/(6·(0.64 - 0.5)²) = 66.7 → 67
    assert sample_size_mann_whitney(0.64) == 67


def test_sample_sizes_are_none_when_effect_is_zero() -> None:
    assert sample_size_two_proportions(0.1, 0.1) is None
    assert sample_size_two_means(1.0, 0.0) is None
    assert sample_size_mann_whitney(0.5) is None
