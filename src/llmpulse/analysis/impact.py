"""Impact of a segment: excess bad events, excess totals, rate/mix/interaction decomposition.

METHODS.md §4.7. All functions are vectorised over segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.types import FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput


def excess_events(
    bad_s: npt.ArrayLike, n_s: npt.ArrayLike, bad_r: npt.ArrayLike, n_r: npt.ArrayLike
) -> FloatArray:
    """Bad events attributable to S being worse than the rest: E_S = (p̂_S - p̂_R)·n_S (§4.7).

    B = 40/400 vs rest 8/800 gives (0.10 - 0.01)·400 = 36. Negative when S is better.
    NaN when the rest is empty.
    """
    xs, ns, xr, nr = (as_float_array(v) for v in (bad_s, n_s, bad_r, n_r))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_s = np.where(ns > 0, xs / ns, 0.0)
        return np.where(nr > 0, (rate_s - xr / nr) * ns, np.nan)


def excess_total(mean_s: npt.ArrayLike, mean_r: npt.ArrayLike, n_s: npt.ArrayLike) -> FloatArray:
    """Excess total of a mean metric: (mean_S - mean_R)·n_S (§4.7, generalised to means).

    For cost per request it is the extra dollars S spent compared with what the same number of
    requests would have cost at the rest's mean; negative when S is cheaper.
    """
    ms, mr, ns = (as_float_array(v) for v in (mean_s, mean_r, n_s))
    return (ms - mr) * ns


@dataclass(frozen=True, slots=True)
class RateDecomposition:
    """Per-segment terms of ΔM = Σ_s (rate + mix + interaction) (METHODS.md §4.7)."""

    rate: FloatArray
    """w_s^b·(m_s^c - m_s^b): the segment's own rate change at baseline traffic mix."""
    mix: FloatArray
    """(w_s^c - w_s^b)·m_s^b: the traffic shift at baseline rates."""
    interaction: FloatArray
    """(w_s^c - w_s^b)·(m_s^c - m_s^b)."""
    total: FloatArray
    """rate + mix + interaction per segment; sums to `delta` over segments."""
    delta: float
    """Overall rate change M^c - M^b (ratio of sums, R1)."""


def decompose_rate_change(
    base_bad: npt.ArrayLike,
    base_n: npt.ArrayLike,
    cur_bad: npt.ArrayLike,
    cur_n: npt.ArrayLike,
) -> RateDecomposition:
    """Rate/mix/interaction decomposition of an overall rate between two periods (§4.7).

    Segments must partition the traffic (one dimension, every value present). w = traffic
    share, m = segment rate. A segment absent in one period (n = 0) gets m = 0 there, which
    keeps the identity exact because its weight is 0 too.

    Args:
        base_bad: Bad events per segment in the baseline period.
        base_n: Requests per segment in the baseline period.
        cur_bad: Bad events per segment in the current period.
        cur_n: Requests per segment in the current period.

    Raises:
        InvalidInput: If a period has no traffic at all (R3: the rate is undefined).
    """
    xb, nb, xc, nc = (as_float_array(v) for v in (base_bad, base_n, cur_bad, cur_n))
    total_b, total_c = float(nb.sum()), float(nc.sum())
    if total_b <= 0 or total_c <= 0:
        raise InvalidInput("both periods need traffic for a rate decomposition")
    wb, wc = nb / total_b, nc / total_c
    with np.errstate(divide="ignore", invalid="ignore"):
        mb = np.where(nb > 0, xb / nb, 0.0)
        mc = np.where(nc > 0, xc / nc, 0.0)
    rate = wb * (mc - mb)
    mix = (wc - wb) * mb
    interaction = (wc - wb) * (mc - mb)
    delta = float(xc.sum()) / total_c - float(xb.sum()) / total_b
    return RateDecomposition(rate, mix, interaction, rate + mix + interaction, delta)
