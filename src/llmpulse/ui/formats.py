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


def finite(v: float | None) -> float | None:
    """``v`` when it is a finite number, else None (NaN and infinities count as missing)."""
    return v if v is not None and math.isfinite(v) else None


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
    """A duration: ``0.50 ms``, ``8.5 ms``, ``850 ms``, ``1.25 s``, ``1.5 min``, ``150 min``."""
    a = abs(ms)
    if a < 1:
        return f"{ms:.2f} ms" if ms != 0 else "0 ms"
    if a < 1000:
        return f"{ms:.0f} ms" if a >= 10 else f"{ms:.2g} ms"
    if a < 60_000:
        return f"{ms / 1000:.3g} s"
    return f"{ms / 60_000:.2g} min" if a < 600_000 else f"{ms / 60_000:.0f} min"


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
    return with_dash(formatter_for(metric), v)


def with_dash(fmt: Formatter, v: float | None) -> str:
    """``fmt(v)``, or an en dash when ``v`` is missing or not finite."""
    x = finite(v)
    return DASH if x is None else fmt(x)


def format_diff(metric: str, v: float | None) -> str:
    """A signed difference: ``+1.2%``, ``-35 ms``."""
    x = finite(v)
    if x is None:
        return DASH
    return ("+" if x >= 0 else "-") + formatter_for(metric)(abs(x))


def format_p(p: float | None) -> str:
    """A p-value: ``<0.0001``, ``0.012``, ``0.43``."""
    if (p := finite(p)) is None:
        return DASH
    if p < 1e-4:
        return "<0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}".rstrip("0").rstrip(".")


def format_num(v: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits."""
    return with_dash(lambda x: f"{x:.{digits}g}", v)


def significance_badge(significant: bool, worse: bool) -> tuple[str, str]:
    """The badge text and CSS class of a tested difference: worse, better or n.s."""
    if significant and worse:
        return "worse", "sig-worse"
    if significant:
        return "better", "sig-better"
    return "n.s.", "sig-none"
