"""Benjamini-Hochberg and Benjamini-Yekutieli (§4.6)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from llmpulse.analysis.multiple import (
    adjust_pvalues,
    benjamini_hochberg,
    benjamini_yekutieli,
    reject,
)
from llmpulse.domain.errors import InvalidInput

P = [0.01, 0.04, 0.03, 0.005]


def test_benjamini_hochberg_matches_oracle_when_given_methods_example() -> None:
    # METHODS.md §4.6 test oracle: BH [0.02, 0.04, 0.04, 0.02]
    np.testing.assert_allclose(benjamini_hochberg(P), [0.02, 0.04, 0.04, 0.02], rtol=1e-12)


def test_benjamini_yekutieli_matches_oracle_when_given_methods_example() -> None:
    # METHODS.md §4.6 test oracle: BY [0.0416667, 0.0833333, 0.0833333, 0.0416667]
    np.testing.assert_allclose(
        benjamini_yekutieli(P), [0.0416667, 0.0833333, 0.0833333, 0.0416667], atol=5e-7
    )


@pytest.mark.parametrize("method", ["bh", "by"])
def test_adjust_pvalues_equals_scipy_when_pvalues_are_random(method: str) -> None:
    # METHODS.md §4.6: scipy.stats.false_discovery_control (SciPy ≥ 1.11)
    rng = np.random.default_rng(17)
    for size in (1, 2, 10, 333):
        p = np.concatenate([rng.uniform(0, 1, size), rng.uniform(0, 1e-3, size // 3)])
        p[: size // 4] = p[0]  # ties
        ours = adjust_pvalues(p, method=method)  # type: ignore[arg-type]
        np.testing.assert_allclose(
            ours, stats.false_discovery_control(p, method=method), rtol=1e-12
        )


def test_reject_applies_step_up_rule_when_q_is_five_percent() -> None:
    # METHODS.md §4.6: largest k with p_(k) ≤ (k/m)·q
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
    # k/m·q: 0.00625, 0.0125, 0.01875, 0.025, ... → only the first two pass
    assert list(reject(p, q=0.05)) == [True, True, False, False, False, False, False, False]


def test_adjust_pvalues_returns_empty_when_nothing_was_tested() -> None:
    # METHODS.md §4.6: m = number actually tested, possibly 0
    assert adjust_pvalues([]).size == 0


def test_adjust_pvalues_rejects_input_when_nan_or_out_of_range() -> None:
    with pytest.raises(InvalidInput):
        adjust_pvalues([0.1, float("nan")])
    with pytest.raises(InvalidInput):
        adjust_pvalues([1.2])
    with pytest.raises(InvalidInput):
        adjust_pvalues([0.1], method="holm")  # type: ignore[arg-type]
