"""ContextCite surrogate against the METHODS.md §5.5 oracles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from llmpulse.analysis.explain.contextcite import (
    ablation_masks,
    context_cite,
    fit_surrogate,
    lasso,
    response_logit,
)
from llmpulse.domain.errors import InvalidInput

ALL_MASKS = [list(m) for m in itertools.product([0, 1], repeat=3)]
TARGET = [1 + 2 * m1 + 0 * m2 + 0.5 * m3 for m1, m2, m3 in ALL_MASKS]


def test_logit_oracle() -> None:
    assert math.exp(-0.3) == pytest.approx(0.7408182, abs=1e-7)
    assert response_logit([-0.1, -0.2]) == pytest.approx(1.0502256, abs=1e-7)


def test_logit_of_a_certain_response_is_finite() -> None:
    assert math.isfinite(response_logit([0.0, 0.0]))


@pytest.mark.parametrize("bad", [[], [0.5], [float("nan")]])
def test_logit_rejects_bad_logprobs(bad: list[float]) -> None:
    with pytest.raises(InvalidInput, match="token_logprobs"):
        response_logit(bad)


def test_ols_is_exact_on_the_full_design() -> None:
    fit = fit_surrogate(ALL_MASKS, TARGET, alpha=0.0)
    assert fit.weights == pytest.approx((2.0, 0.0, 0.5), abs=1e-9)
    assert fit.intercept == pytest.approx(1.0, abs=1e-9)


def test_lasso_matches_the_contextcite_solver_oracle() -> None:
    fit = fit_surrogate(ALL_MASKS, TARGET, alpha=0.01)
    assert fit.weights == pytest.approx((1.98, 0.0, 0.48), abs=1e-9)
    assert fit.intercept == pytest.approx(1.02, abs=1e-9)
    assert fit.ranking() == [0, 2, 1]


def test_num_tokens_scaling_shrinks_less_per_token() -> None:
    # Target divided by 2 tokens: soft-threshold 0.01 applies to half-size weights, rescaled x2.
    fit = fit_surrogate(ALL_MASKS, TARGET, alpha=0.01, num_tokens=2)
    assert fit.weights == pytest.approx((1.96, 0.0, 0.46), abs=1e-9)


def test_lasso_agrees_with_normal_equations_on_correlated_design() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 4))
    x[:, 1] += 0.8 * x[:, 0]
    y = x @ np.array([1.0, -2.0, 0.0, 0.5]) + 3.0 + rng.normal(scale=0.1, size=200)
    w, b = lasso(x, y, alpha=0.0)
    design = np.column_stack([x, np.ones(200)])
    expected = np.linalg.lstsq(design, y, rcond=None)[0]
    assert w == pytest.approx(expected[:4], abs=1e-8)
    assert b == pytest.approx(expected[4], abs=1e-8)


def test_large_alpha_zeroes_every_weight() -> None:
    fit = fit_surrogate(ALL_MASKS, TARGET, alpha=10.0)
    assert fit.weights == (0.0, 0.0, 0.0)
    assert fit.intercept == pytest.approx(sum(TARGET) / len(TARGET))


def test_masks_are_seeded_and_keep_about_half() -> None:
    a = ablation_masks(10, 500, seed=7)
    assert a.shape == (500, 10)
    assert np.array_equal(a, ablation_masks(10, 500, seed=7))
    assert 0.45 < a.mean() < 0.55


def test_context_cite_recovers_planted_additive_logit() -> None:
    # Scorer whose response logit is exactly additive in kept sources: log p chosen so that
    # logit = 0.2 + 1.5·[0 kept] + 0.7·[3 kept]; OLS-like recovery with tiny alpha.
    def scorer(kept: frozenset[int]) -> list[float]:
        logit = 0.2 + 1.5 * (0 in kept) + 0.7 * (3 in kept)
        return [-math.log1p(math.exp(-logit))]

    fit = context_cite(5, scorer, n_ablations=64, alpha=0.0)
    assert fit.weights == pytest.approx((1.5, 0.0, 0.0, 0.7, 0.0), abs=1e-6)
    assert fit.intercept == pytest.approx(0.2, abs=1e-6)


def test_bad_shapes_name_the_field() -> None:
    with pytest.raises(InvalidInput, match="masks"):
        fit_surrogate([[1, 0], [0, 1]], [1.0])
    with pytest.raises(InvalidInput, match="keep_prob"):
        ablation_masks(3, keep_prob=1.0)
