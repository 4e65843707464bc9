"""Excess events and the rate/mix/interaction decomposition (§4.7)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmpulse.analysis.impact import decompose_rate_change, excess_events, excess_total
from llmpulse.domain.errors import InvalidInput


def test_decompose_rate_change_matches_oracle_when_segment_b_degrades() -> None:
    # METHODS.md §4.7 test oracle: baseline A 800/8, B 200/2; current A 800/8, B 400/40
    d = decompose_rate_change([8, 2], [800, 200], [8, 40], [800, 400])
    assert math.isclose(d.delta, 0.03, rel_tol=1e-9)
    np.testing.assert_allclose(d.rate, [0.0, 0.018], atol=1e-12)
    np.testing.assert_allclose(d.mix, [-0.0013333, 0.0013333], atol=5e-8)
    np.testing.assert_allclose(d.interaction, [0.0, 0.012], atol=1e-12)
    np.testing.assert_allclose(d.total, [-0.0013333, 0.0313333], atol=5e-8)
    assert math.isclose(float(d.total.sum()), 0.03, rel_tol=1e-12)


def test_excess_events_matches_oracle_when_b_is_compared_with_rest() -> None:
    # METHODS.md §4.7 test oracle: (0.10 - 0.01)·400 = 36
    assert math.isclose(excess_events(40, 400, 8, 800)[0], 36.0, rel_tol=1e-12)


def test_decomposition_sums_to_delta_when_segments_appear_or_vanish() -> None:
    # METHODS.md §4.7: the three terms summed over s equal ΔM exactly
    rng = np.random.default_rng(4)
    base_n = rng.integers(0, 1000, 12)
    cur_n = rng.integers(0, 1000, 12)
    base_n[3], cur_n[5] = 0, 0
    base_bad, cur_bad = rng.binomial(base_n, 0.05), rng.binomial(cur_n, 0.08)
    d = decompose_rate_change(base_bad, base_n, cur_bad, cur_n)
    assert math.isclose(float(d.total.sum()), d.delta, rel_tol=1e-9, abs_tol=1e-15)
    np.testing.assert_allclose(d.total, d.rate + d.mix + d.interaction)


def test_excess_total_is_signed_excess_when_segment_costs_more() -> None:
    # METHODS.md §4.7 generalised to means: (mean_S - mean_R)·n_S
    np.testing.assert_allclose(excess_total([0.05, 0.01], [0.02, 0.02], [100, 50]), [3.0, -0.5])


def test_decompose_rate_change_rejects_periods_when_one_has_no_traffic() -> None:
    # METHODS.md R3
    with pytest.raises(InvalidInput):
        decompose_rate_change([0], [0], [1], [10])
