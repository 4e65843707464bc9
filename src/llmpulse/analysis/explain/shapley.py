"""Exact Shapley values and leave-one-out attribution (METHODS.md §5.1, §5.4).

Players are indexed 0..M-1; a value function maps a coalition (a frozenset of indices) to a
number. For RAG chunks, v(S) is the value of the answer given only the chunks in S.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from llmpulse.domain.errors import InvalidInput

ValueFunction = Callable[[frozenset[int]], float]

MAX_EXACT_PLAYERS = 12
"""2^12 evaluations of v; beyond this exact enumeration is impractical (§5.1)."""


def _check_players(n_players: int) -> None:
    if n_players < 1:
        raise InvalidInput(f"n_players must be at least 1, got {n_players}")
    if n_players > MAX_EXACT_PLAYERS:
        raise InvalidInput(
            f"n_players must be at most {MAX_EXACT_PLAYERS} for exact Shapley, got {n_players}"
        )


def exact_shapley(n_players: int, value: ValueFunction) -> list[float]:
    """Exact Shapley values by enumerating all coalitions (§5.1).

    φ_i = Σ_{S ⊆ N - {i}} |S|!(M - |S| - 1)!/M! · [v(S + i) - v(S)]. Each coalition is
    evaluated once (2^M calls), and Σφ_i = v(N) - v(∅) (efficiency).

    Args:
        n_players: Number of players M (1..12).
        value: The value function v.

    Returns:
        The Shapley value of each player, in index order.

    Raises:
        InvalidInput: If n_players is out of range.
    """
    _check_players(n_players)
    players = range(n_players)
    cache: dict[frozenset[int], float] = {}
    for size in range(n_players + 1):
        for combo in itertools.combinations(players, size):
            coalition = frozenset(combo)
            cache[coalition] = float(value(coalition))
    m_fact = math.factorial(n_players)
    phi = [0.0] * n_players
    for coalition, v_s in cache.items():
        size = len(coalition)
        if size == n_players:
            continue
        weight = math.factorial(size) * math.factorial(n_players - size - 1) / m_fact
        for i in players:
            if i not in coalition:
                phi[i] += weight * (cache[coalition | {i}] - v_s)
    return phi


def leave_one_out(n_players: int, value: ValueFunction) -> list[float]:
    """Leave-one-out attribution Δ_i = v(N) - v(N  -  {i}) (§5.4); M + 1 calls of v.

    It misses redundancy: mutually substituting players each get about 0.

    Args:
        n_players: Number of players M (at least 1).
        value: The value function v.

    Returns:
        The drop in value when each player is removed, in index order.

    Raises:
        InvalidInput: If n_players is below 1.
    """
    if n_players < 1:
        raise InvalidInput(f"n_players must be at least 1, got {n_players}")
    everyone = frozenset(range(n_players))
    full = float(value(everyone))
    return [full - float(value(everyone - {i})) for i in range(n_players)]
