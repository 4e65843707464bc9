"""Short, unit-aware text for metric values on charts and in tables (no I/O).

The unit is read from the metric name (``field:agg``, see `llmpulse.domain.metrics`): rates are
percentages, latencies milliseconds or seconds, costs dollars, counts and tokens compact numbers
(``12.3k``). Missing and non-finite values are shown as an en dash.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Formatter = Callable[[float], str]
DASH = "\u2013"  # en dash


def compact_number(v: float) -> str:
    """``950``, ``12.3k``, ``4.5M``; fractions keep up to three significant digits."""
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.1f}G"
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 1e3:
        return f"{v / 1e3:.1f}k"
    if a == 0 or a >= 100 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.3g}"


def percent(v: float) -> str:
    """A 0..1 rate as a percentage: ``5%``, ``12.5%``, ``0.37%``."""
    p = v * 100.0
    if p != 0 and abs(p) < 1:
        return f"{p:.2g}%"
    text = f"{p:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def short_ms(ms: float) -> str:
    """A duration for an axis: ``850 ms``, ``1.2 s``, ``3.5 min``."""
    if abs(ms) < 1000:
        return f"{ms:.0f} ms" if abs(ms) >= 10 or ms == 0 else f"{ms:.2g} ms"
    if abs(ms) < 60_000:
        return f"{ms / 1000:.3g} s"
    return f"{ms / 60_000:.2g} min"


def dollars(usd: float) -> str:
    """Dollars with the digits that matter for small amounts (``$0.000057``, ``$12.50``)."""
    a = abs(usd)
    if a == 0:
        return "$0"
    if a < 0.01:
        digits = min(-math.floor(math.log10(a)) + 1, 10)
        return f"${usd:.{digits}f}"
    if a < 100:
        return f"${usd:.2f}"
    return f"${compact_number(usd)}"


def plain(v: float) -> str:
    """Scores and other unitless numbers."""
    if v == 0 or abs(v) >= 100:
        return compact_number(v)
    return f"{v:.3g}"


def formatter_for(metric: str) -> Formatter:
    """The formatter that suits ``metric`` (``latency_ms:p95`` → ``short_ms``)."""
    field, _, agg = metric.rpartition(":")
    if agg == "rate":
        return percent
    if field == "latency_ms":
        return short_ms
    if field == "cost_usd":
        return dollars
    if metric == "count" or field.endswith("tokens") or agg == "count":
        return compact_number
    return plain


def format_value(metric: str, v: float | None) -> str:
    """``v`` formatted for ``metric``; an en dash when missing or not finite."""
    if v is None or not math.isfinite(v):
        return DASH
    return formatter_for(metric)(v)


def format_diff(metric: str, v: float | None) -> str:
    """A signed difference: ``+1.2%``, ``-35 ms``."""
    if v is None or not math.isfinite(v):
        return DASH
    text = formatter_for(metric)(abs(v))
    return ("+" if v >= 0 else "-") + text


def format_p(p: float | None) -> str:
    """A p-value: ``<0.0001``, ``0.012``, ``0.43``."""
    if p is None or not math.isfinite(p):
        return DASH
    if p < 1e-4:
        return "<0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}".rstrip("0").rstrip(".")


def format_num(v: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits."""
    if v is None or not math.isfinite(v):
        return DASH
    return f"{v:.{digits}g}"
