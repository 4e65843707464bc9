"""Array aliases and small literal types shared inside `llmpulse.analysis`."""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

MetricKind: TypeAlias = Literal["proportion", "mean"]
Direction: TypeAlias = Literal["higher_is_worse", "lower_is_worse"]

Z_975 = 1.959963984540054
"""z_{0.975}, the two-sided 95 % normal quantile (METHODS.md notation)."""


def as_float_array(values: npt.ArrayLike) -> FloatArray:
    """Return `values` as a float64 array of at least one dimension."""
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def worse_sign(direction: Direction) -> float:
    """+1 when a higher value is worse, -1 when a lower value is worse (METHODS.md R7)."""
    return 1.0 if direction == "higher_is_worse" else -1.0
