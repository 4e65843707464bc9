"""The event store's buffer-pool bound: its default and the sizes it accepts (no DuckDB import,
so that settings can name them without loading the engine)."""

from __future__ import annotations

import re

DEFAULT_MEMORY_LIMIT = "512MB"
"""DuckDB's buffer pool bound when none is set: without one DuckDB may cache up to 80 % of
RAM (GBs at 1M spans)."""

_MEMORY_RE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", re.IGNORECASE)


def is_memory_limit(value: str) -> bool:
    """True when ``value`` is a size DuckDB's ``memory_limit`` takes: a number and a unit
    (512MB, 2GB, 1.5GiB)."""
    return _MEMORY_RE.fullmatch(value) is not None


_UNITS = {
    "bytes": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
}


def size_bytes(text: str) -> int:
    """Bytes of a size as DuckDB prints one (``286.1 MiB``, ``0 bytes``) or as
    `is_memory_limit` takes it (``512MB``); DuckDB cuts its sizes to one decimal
    (``1.8 GiB`` for 2GB).

    Raises:
        ValueError: ``text`` is not such a size.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text)
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise ValueError(f"not a size: {text!r}")
    return round(float(match.group(1)) * unit)
