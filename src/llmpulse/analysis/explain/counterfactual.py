"""Counterfactual chunk sets: minimal necessary and sufficient sets (METHODS.md §5.7).

An outcome function maps the kept chunks to a discrete outcome (an answer label, a judge
verdict, or v(S) thresholded). A *necessary* set is one whose removal changes the outcome of the
full context; a *sufficient* set is one that alone reproduces it. The greedy search adds chunks
in attribution order (§5.4/§5.5) until the change is verified by a call, then drops every chunk
the verdict does not need, so the reported set is verified and irreducible (no proper subset
obtained by dropping one chunk still works). The exhaustive search lists every minimal set.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from llmpulse.domain.errors import InvalidInput

Outcome = Callable[[frozenset[int]], Hashable]

MAX_EXHAUSTIVE_CHUNKS = 12


@dataclass(frozen=True)
class Counterfactual:
    """A verified counterfactual set (§5.7).

    Attributes:
        chunks: The chunk indices (removed for a necessary set, kept for a sufficient set).
        original: The outcome with every chunk kept.
        counterfactual: The verified outcome with the set applied.
        calls: Calls of the outcome function spent.
    """

    chunks: frozenset[int]
    original: Hashable
    counterfactual: Hashable
    calls: int


class _Budget:
    def __init__(self, outcome: Outcome, budget: int) -> None:
        self.outcome = outcome
        self.left = budget
        self.calls = 0
        self.cache: dict[frozenset[int], Hashable] = {}

    def __call__(self, kept: frozenset[int]) -> Hashable | None:
        if kept in self.cache:
            return self.cache[kept]
        if self.left <= 0:
            return None
        self.left -= 1
        self.calls += 1
        self.cache[kept] = self.outcome(kept)
        return self.cache[kept]


def _order(n_chunks: int, attribution: Sequence[float] | None) -> list[int]:
    if n_chunks < 1:
        raise InvalidInput(f"n_chunks must be at least 1, got {n_chunks}")
    if attribution is None:
        return list(range(n_chunks))
    if len(attribution) != n_chunks:
        raise InvalidInput(f"attribution must have {n_chunks} entries, got {len(attribution)}")
    return sorted(range(n_chunks), key=lambda j: (-attribution[j], j))


class _Search:
    """Greedy search state: the budgeted outcome, the original outcome and the goal."""

    def __init__(self, n_chunks: int, outcome: Outcome, budget: int, necessary: bool) -> None:
        self.everyone = frozenset(range(n_chunks))
        self.call = _Budget(outcome, budget)
        self.necessary = necessary
        self.original = self.call(self.everyone)

    def kept_for(self, chosen: frozenset[int]) -> frozenset[int]:
        return self.everyone - chosen if self.necessary else chosen

    def works(self, chosen: frozenset[int]) -> bool | None:
        """Whether ``chosen`` achieves the goal; None once the budget is spent."""
        result = self.call(self.kept_for(chosen))
        if result is None:
            return None
        return (result != self.original) if self.necessary else (result == self.original)

    def grow(self, order: list[int]) -> frozenset[int] | None:
        """Add chunks in order until the goal is verified."""
        chosen: frozenset[int] = frozenset()
        for j in order:
            chosen = chosen | {j}
            verdict = self.works(chosen)
            if verdict is None:
                return None
            if verdict:
                return chosen
        return None

    def prune(self, chosen: frozenset[int], order: list[int]) -> frozenset[int]:
        """Drop, last-added first, every chunk the verified goal does not need."""
        for j in reversed(order):
            if j in chosen and len(chosen) > 1:
                verdict = self.works(chosen - {j})
                if verdict is None:
                    break
                if verdict:
                    chosen = chosen - {j}
        return chosen


def _greedy(
    n_chunks: int,
    outcome: Outcome,
    attribution: Sequence[float] | None,
    budget: int,
    necessary: bool,
) -> Counterfactual | None:
    if budget < 2:
        raise InvalidInput(f"budget must be at least 2, got {budget}")
    order = _order(n_chunks, attribution)
    search = _Search(n_chunks, outcome, budget, necessary)
    found = search.grow(order)
    if found is None:
        return None
    chosen = search.prune(found, order)
    counterfactual = search.call.cache[search.kept_for(chosen)]
    return Counterfactual(chosen, search.original, counterfactual, search.call.calls)


def greedy_necessary(
    n_chunks: int,
    outcome: Outcome,
    attribution: Sequence[float] | None = None,
    budget: int = 64,
) -> Counterfactual | None:
    """Smallest removal set that changes the outcome, by greedy search with verification (§5.7).

    Args:
        n_chunks: Number of chunks.
        outcome: Outcome given the kept chunk indices.
        attribution: Chunk attributions; chunks are tried highest first (index order if None).
        budget: Maximum number of outcome calls (at least 2).

    Returns:
        The verified removal set, or None if no removal changed the outcome within the budget.

    Raises:
        InvalidInput: If arguments are out of range.
    """
    return _greedy(n_chunks, outcome, attribution, budget, necessary=True)


def greedy_sufficient(
    n_chunks: int,
    outcome: Outcome,
    attribution: Sequence[float] | None = None,
    budget: int = 64,
) -> Counterfactual | None:
    """Smallest kept set that reproduces the full-context outcome, greedily (§5.7).

    Args:
        n_chunks: Number of chunks.
        outcome: Outcome given the kept chunk indices.
        attribution: Chunk attributions; chunks are tried highest first (index order if None).
        budget: Maximum number of outcome calls (at least 2).

    Returns:
        The verified kept set, or None if none was found within the budget.

    Raises:
        InvalidInput: If arguments are out of range.
    """
    return _greedy(n_chunks, outcome, attribution, budget, necessary=False)


def _minimal(n_chunks: int, ok: Callable[[frozenset[int]], bool]) -> list[frozenset[int]]:
    if not 1 <= n_chunks <= MAX_EXHAUSTIVE_CHUNKS:
        raise InvalidInput(f"n_chunks must be in 1..{MAX_EXHAUSTIVE_CHUNKS}, got {n_chunks}")
    found: list[frozenset[int]] = []
    for size in range(n_chunks + 1):
        for combo in itertools.combinations(range(n_chunks), size):
            chosen = frozenset(combo)
            if any(prior <= chosen for prior in found):
                continue
            if ok(chosen):
                found.append(chosen)
    return found


def minimal_necessary_sets(n_chunks: int, outcome: Outcome) -> list[frozenset[int]]:
    """Every inclusion-minimal removal set that changes the outcome, by enumeration (§5.7)."""
    everyone = frozenset(range(n_chunks))
    original = outcome(everyone)
    return _minimal(n_chunks, lambda chosen: outcome(everyone - chosen) != original)


def minimal_sufficient_sets(n_chunks: int, outcome: Outcome) -> list[frozenset[int]]:
    """Every inclusion-minimal kept set that reproduces the outcome, by enumeration (§5.7)."""
    original = outcome(frozenset(range(n_chunks)))
    return _minimal(n_chunks, lambda chosen: outcome(chosen) == original)
