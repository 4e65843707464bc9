"""Exact Shapley and leave-one-out against the METHODS.md §5.1 and §5.4 oracles."""

from __future__ import annotations

import itertools

import pytest

from llmpulse.analysis.explain.shapley import exact_shapley, leave_one_out
from llmpulse.domain.errors import InvalidInput


def _or_pair(s: frozenset[int]) -> float:
    """§5.4 toy: v = 1 iff chunk 1 is kept or chunks 2 and 3 both are (0-based 0, {1, 2})."""
    return 1.0 if 0 in s or {1, 2} <= s else 0.0


def test_interaction_oracle() -> None:
    # f = x1 + 2x2 + x1·x2 at x = (1, 1), baseline 0.
    def value(s: frozenset[int]) -> float:
        x1, x2 = float(0 in s), float(1 in s)
        return x1 + 2 * x2 + x1 * x2

    assert exact_shapley(2, value) == pytest.approx([1.5, 2.5])


def test_majority_game_is_a_third_each() -> None:
    assert exact_shapley(3, lambda s: float(len(s) >= 2)) == pytest.approx([1 / 3] * 3)


def test_rag_oracle_loo_misses_redundancy_shapley_shares() -> None:
    assert leave_one_out(3, _or_pair) == [0.0, 0.0, 0.0]
    assert exact_shapley(3, _or_pair) == pytest.approx([2 / 3, 1 / 6, 1 / 6])


def test_efficiency_and_one_call_per_coalition() -> None:
    weights = [0.3, -1.2, 2.0, 0.7, 0.0]
    calls: list[frozenset[int]] = []

    def value(s: frozenset[int]) -> float:
        calls.append(s)
        pairs = sum(weights[i] * weights[j] for i, j in itertools.combinations(sorted(s), 2))
        return sum(weights[i] for i in s) + pairs

    phi = exact_shapley(5, value)
    assert sum(phi) == pytest.approx(value(frozenset(range(5))) - value(frozenset()))
    assert len(set(calls)) == 2**5


def test_additive_game_gives_each_its_own_weight() -> None:
    weights = [0.5, -2.0, 3.25]
    assert exact_shapley(3, lambda s: sum(weights[i] for i in s)) == pytest.approx(weights)
    assert leave_one_out(3, lambda s: sum(weights[i] for i in s)) == pytest.approx(weights)


@pytest.mark.parametrize("n", [0, 13])
def test_player_count_out_of_range_names_the_field(n: int) -> None:
    with pytest.raises(InvalidInput, match="n_players"):
        exact_shapley(n, lambda s: 0.0)
