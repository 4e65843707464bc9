"""A fused multiply-add for numpy arrays, exact: ``a * b + c`` rounded once.

numpy has no fused multiply-add, and DuckDB's build computes ``quantile_cont``'s interpolation
with one (see `metric_batch._interpolate`); emulated here in plain double arithmetic.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def fma(a: Floats, b: Floats, c: Floats) -> Floats:
    """``a * b + c`` rounded once (Boldo and Melquiond, "Emulation of FMA and correctly
    rounded sums: proved algorithms using rounding to odd", IEEE TC 2008): the exact product
    as a sum of two doubles (Dekker), the big parts added exactly (TwoSum), the small parts
    added with rounding to odd, then one rounding to nearest. Exact barring overflow and
    underflow, which the caller rules out (`metric_batch` sends extreme values to the SQL path)."""
    uh, ul = _two_product(a, b)
    th, tl = _two_sum(c, uh)
    s, t = _two_sum(tl, ul)
    even = (s.view(np.int64) & 1) == 0
    odd: Floats = np.where((t != 0) & even, np.nextafter(s, np.where(t > 0, np.inf, -np.inf)), s)
    result: Floats = th + odd
    return result


def _two_sum(a: Floats, b: Floats) -> tuple[Floats, Floats]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: Floats) -> tuple[Floats, Floats]:
    c = 134217729.0 * a  # 2**27 + 1: Veltkamp's split into two 26-bit halves
    hi = c - (c - a)
    return hi, a - hi


def _two_product(a: Floats, b: Floats) -> tuple[Floats, Floats]:
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl
