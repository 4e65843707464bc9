"""Builders of synthetic per-request data and their slice aggregates (what the store returns)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import combinations

import numpy as np
import numpy.typing as npt
import pytest

from llmpulse.analysis.segments import SliceKey, SliceStats, SliceTotals

Columns = Mapping[str, npt.NDArray[np.str_]]
Builder = Callable[..., tuple[SliceStats, SliceTotals]]


def aggregate(
    columns: Columns,
    outcome: npt.NDArray[np.float64],
    *,
    kind: str,
    crosses: bool = True,
) -> tuple[SliceStats, SliceTotals]:
    """Every 1-key slice (and 2-key cross) of `columns`, aggregated like a GROUPING SETS query."""
    names = sorted(columns)
    groupings = [(k,) for k in names] + (list(combinations(names, 2)) if crosses else [])
    keys: list[SliceKey] = []
    masks = []
    for grouping in groupings:
        combos = sorted({tuple(columns[k][i] for k in grouping) for i in range(outcome.size)})
        for combo in combos:
            mask = np.ones(outcome.size, dtype=bool)
            for k, v in zip(grouping, combo, strict=True):
                mask &= columns[k] == v
            keys.append(tuple((k, str(v)) for k, v in zip(grouping, combo, strict=True)))
            masks.append(mask)
    n = np.array([m.sum() for m in masks], dtype=np.float64)
    if kind == "proportion":
        bad = np.array([outcome[m].sum() for m in masks])
        return SliceStats(tuple(keys), n, bad=bad), SliceTotals(
            float(outcome.size), float(outcome.sum())
        )
    sums = np.array([outcome[m].sum() for m in masks])
    sumsq = np.array([(outcome[m] ** 2).sum() for m in masks])
    totals = SliceTotals(
        float(outcome.size), sum=float(outcome.sum()), sumsq=float((outcome**2).sum())
    )
    return SliceStats(tuple(keys), n, sum=sums, sumsq=sumsq), totals


@pytest.fixture
def build_slices() -> Builder:
    """The `aggregate` function, as a fixture."""
    return aggregate
