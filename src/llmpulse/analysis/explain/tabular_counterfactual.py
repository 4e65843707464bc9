"""Smallest change of actionable features that flips a decision (METHODS.md §5.7, tabular).

A Wachter-style search made discrete and verifiable: candidate values per actionable feature
come from the observed data (quantiles of a numeric feature, every category of a text one);
single-feature changes are tried first, then pairs of the features that matter most, and the
change with the fewest features and then the smallest normalised distance (|Δ| / the feature's
interquartile range, 1 per changed category) whose decision differs is returned. Every
candidate is evaluated through the decision function, so the flip is verified, not estimated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.domain.errors import FieldError, InvalidInput

FloatArray = npt.NDArray[np.float64]
Decide = Callable[[FloatArray], npt.NDArray[np.bool_]]

GRID_POINTS = 21
MAX_PAIR_FEATURES = 6


@dataclass(frozen=True)
class Change:
    """One feature's change: column index, old and new column values."""

    column: int
    old: float
    new: float


@dataclass(frozen=True)
class TabularCounterfactual:
    """A verified decision flip.

    Attributes:
        changes: The feature changes (one or two).
        distance: Sum of normalised distances of the changes.
        original: The decision before.
        flipped: The decision after (≠ original).
        evaluated: Candidates evaluated.
    """

    changes: tuple[Change, ...]
    distance: float
    original: bool
    flipped: bool
    evaluated: int


def candidate_values(column: FloatArray, categorical: bool) -> FloatArray:
    """Candidate values of one column: its categories, or a quantile grid of its values."""
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return np.empty(0)
    if categorical:
        return np.unique(finite)
    return np.unique(np.quantile(finite, np.linspace(0.0, 1.0, GRID_POINTS)))


def _scale(column: FloatArray, categorical: bool) -> float:
    if categorical:
        return 1.0
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return 1.0
    q75, q25 = np.quantile(finite, [0.75, 0.25])
    spread = float(q75 - q25) or float(finite.max() - finite.min())
    return spread if spread > 0 else 1.0


def _distance(old: float, new: float, scale: float, categorical: bool) -> float:
    if categorical:
        return 0.0 if old == new else 1.0
    if math.isnan(old):
        return 1.0
    return abs(new - old) / scale


def find_counterfactual(
    x: FloatArray,
    data: FloatArray,
    decide: Decide,
    *,
    categorical: Sequence[bool],
    actionable: Sequence[int],
    priority: Sequence[int] | None = None,
) -> TabularCounterfactual | None:
    """Search the smallest verified change of actionable columns that flips ``decide(x)``.

    Args:
        x: The encoded row, shape (features,).
        data: Encoded training rows (for candidate values and scales).
        decide: Decision per row of a matrix.
        categorical: Per column, whether it is a category code.
        actionable: Columns that may change.
        priority: Columns by decreasing importance (pairs use the first six actionable ones).

    Returns:
        The counterfactual, or None when no single or pair change flips the decision.

    Raises:
        InvalidInput: No actionable column.
    """
    if not actionable:
        raise InvalidInput("no actionable feature", [FieldError("actionable", "name one")])
    original = bool(decide(x[None, :])[0])
    cands = {j: candidate_values(data[:, j], categorical[j]) for j in actionable}
    scales = {j: _scale(data[:, j], categorical[j]) for j in actionable}
    evaluated = 0
    best: tuple[float, tuple[Change, ...]] | None = None
    for j in actionable:
        values = cands[j][cands[j] != x[j]]
        if values.size == 0:
            continue
        grid = np.repeat(x[None, :], values.size, axis=0)
        grid[:, j] = values
        flips = decide(grid) != original
        evaluated += values.size
        for v in values[flips]:
            d = _distance(float(x[j]), float(v), scales[j], categorical[j])
            if best is None or d < best[0]:
                best = (d, (Change(j, float(x[j]), float(v)),))
    if best is None:
        order = [j for j in (priority or actionable) if j in cands][:MAX_PAIR_FEATURES]
        for a, b in itertools.combinations(order, 2):
            va, vb = cands[a][cands[a] != x[a]], cands[b][cands[b] != x[b]]
            if va.size == 0 or vb.size == 0:
                continue
            pa, pb = np.meshgrid(va, vb, indexing="ij")
            grid = np.repeat(x[None, :], pa.size, axis=0)
            grid[:, a], grid[:, b] = pa.ravel(), pb.ravel()
            flips = decide(grid) != original
            evaluated += pa.size
            for v1, v2 in zip(pa.ravel()[flips], pb.ravel()[flips], strict=True):
                d = _distance(float(x[a]), float(v1), scales[a], categorical[a]) + _distance(
                    float(x[b]), float(v2), scales[b], categorical[b]
                )
                if best is None or d < best[0]:
                    best = (
                        d,
                        (Change(a, float(x[a]), float(v1)), Change(b, float(x[b]), float(v2))),
                    )
    if best is None:
        return None
    return TabularCounterfactual(best[1], best[0], original, not original, evaluated)
