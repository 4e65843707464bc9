"""Counterfactual chunk sets against the METHODS.md §5.7 oracle."""

from __future__ import annotations

import pytest

from llmpulse.analysis.explain.counterfactual import (
    greedy_necessary,
    greedy_sufficient,
    minimal_necessary_sets,
    minimal_sufficient_sets,
)
from llmpulse.analysis.explain.shapley import exact_shapley
from llmpulse.domain.errors import InvalidInput


def _or_pair(s: frozenset[int]) -> bool:
    return 0 in s or {1, 2} <= s


def test_no_single_removal_flips_and_minimal_sets_match_the_oracle() -> None:
    everyone = frozenset(range(3))
    assert all(_or_pair(everyone - {i}) for i in range(3))
    assert set(minimal_necessary_sets(3, _or_pair)) == {frozenset({0, 1}), frozenset({0, 2})}
    assert set(minimal_sufficient_sets(3, _or_pair)) == {frozenset({0}), frozenset({1, 2})}


def test_greedy_in_shapley_order_finds_a_verified_minimal_set() -> None:
    phi = exact_shapley(3, lambda s: float(_or_pair(s)))
    removal = greedy_necessary(3, _or_pair, attribution=phi)
    assert removal is not None
    assert removal.chunks == frozenset({0, 1})
    assert (removal.original, removal.counterfactual) == (True, False)
    kept = greedy_sufficient(3, _or_pair, attribution=phi)
    assert kept is not None
    assert kept.chunks == frozenset({0})


def test_greedy_prunes_chunks_the_flip_does_not_need() -> None:
    # Attribution order puts irrelevant chunk 3 first; the reported set must still be minimal.
    def outcome(s: frozenset[int]) -> bool:
        return 1 in s

    removal = greedy_necessary(4, outcome, attribution=[0.0, 0.5, 0.1, 0.9])
    assert removal is not None
    assert removal.chunks == frozenset({1})


def test_no_flip_and_exhausted_budget_return_none() -> None:
    assert greedy_necessary(3, lambda s: "same") is None
    assert greedy_necessary(6, lambda s: len(s) > 0, budget=3) is None


def test_budget_is_honoured() -> None:
    calls: list[frozenset[int]] = []

    def outcome(s: frozenset[int]) -> bool:
        calls.append(s)
        return len(s) > 2

    result = greedy_necessary(8, outcome, budget=5)
    assert len(calls) <= 5
    assert result is None or result.calls <= 5


def test_bad_attribution_length_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="attribution"):
        greedy_necessary(3, _or_pair, attribution=[1.0])
