"""Segments compared on a percentile from samples (METHODS.md §4.4, §4.5, §4.6)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from llmpulse.analysis.distributions import compare_distributions

SLOW = (("region", "eu"),)
FAST = (("region", "us"),)
TINY = (("region", "ap"),)


def _samples(seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    eu = rng.lognormal(6.0, 0.3, 400)
    us = rng.lognormal(5.0, 0.3, 400)
    ap = rng.lognormal(5.0, 0.3, 10)
    return [
        (eu, np.concatenate([us, ap])),
        (us, np.concatenate([eu, ap])),
        (ap, np.concatenate([eu, us])),
    ]


def test_compare_distributions_ranks_the_slow_segment_first_with_scipy_p_values() -> None:
    samples = _samples()
    out = compare_distributions([SLOW, FAST, TINY], [400, 400, 10], 810, samples, quantile=0.95)
    assert out[0].keys == SLOW
    assert out[0].rank == 1
    assert out[0].significant
    inside, rest = samples[0]
    assert out[0].value == pytest.approx(np.quantile(inside, 0.95))
    assert out[0].rest_value == pytest.approx(np.quantile(rest, 0.95))
    expected_p = stats.mannwhitneyu(inside, rest, alternative="two-sided").pvalue
    assert out[0].p_value == pytest.approx(expected_p, rel=1e-9)
    assert out[0].ci_low < out[0].diff < out[0].ci_high


def test_compare_distributions_leaves_small_segments_untested_and_out_of_bh() -> None:
    out = compare_distributions([SLOW, FAST, TINY], [400, 400, 10], 810, _samples(), quantile=0.95)
    tiny = next(r for r in out if r.keys == TINY)
    assert not tiny.tested
    assert tiny.test == "none"
    tested = [r for r in out if r.tested]
    raw = sorted(r.p_value for r in tested)
    # BH over two tests: the larger p stays, the smaller doubles (capped by the larger).
    adjusted = sorted(r.p_adjusted for r in tested)
    assert adjusted[1] == pytest.approx(raw[1])
    assert adjusted[0] == pytest.approx(min(2 * raw[0], raw[1]))


def test_compare_distributions_flips_direction_for_lower_is_worse() -> None:
    out = compare_distributions(
        [SLOW, FAST], [400, 400], 800, _samples()[:2], quantile=0.5, direction="lower_is_worse"
    )
    assert out[0].keys == FAST
    assert out[0].rank == 1
