"""Engine rows of metric and slice queries → the typed results of `store.api`."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from llmpulse.store.metric_api import (
    GroupKey,
    MetricFrame,
    MetricQuery,
    MetricRow,
    SliceFrame,
    SliceQuery,
    SliceRow,
    label_of,
)


def key_labels(keys: tuple[GroupKey, ...]) -> tuple[str, ...]:
    """How group keys are named in results (a cohort as ``cohort:<name>``)."""
    return tuple(label_of(k) for k in keys)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def metric_frame(q: MetricQuery, rows: list[tuple[Any, ...]]) -> MetricFrame:
    """Rows of ``bucket, g…, n, m…, s…`` (then ``x…`` with per-unit metrics) → `MetricFrame`."""
    ng, nm = len(q.group_by), len(q.metrics)
    out = []
    for r in rows:
        group = tuple(None if g is None else str(g) for g in r[1 : 1 + ng])
        n = int(r[1 + ng])
        values = tuple(_num(v) for v in r[2 + ng : 2 + ng + nm])
        support = tuple(int(s) for s in r[2 + ng + nm : 2 + ng + 2 * nm])
        excluded = tuple(int(x) for x in r[2 + ng + 2 * nm : 2 + ng + 3 * nm]) or (0,) * nm
        out.append(MetricRow(_aware(r[0]), group, n, values, support, excluded))
    return MetricFrame(tuple(m.name for m in q.metrics), key_labels(q.group_by), out)


def slice_frame(q: SliceQuery, rows: list[tuple[Any, ...]]) -> SliceFrame:
    """Rows of ``gid, k…, n, s, ss`` → `SliceFrame` (slices with a NULL key value dropped)."""
    nk = len(q.keys)
    labels = key_labels(q.keys)
    total = SliceRow((), 0, 0.0, 0.0)
    out: list[SliceRow] = []
    per_key: dict[int, int] = {}
    truncated = False
    for r in rows:
        gid = int(r[0])
        values = r[1 : 1 + nk]
        n, s, ss = int(r[1 + nk] or 0), float(r[2 + nk] or 0.0), float(r[3 + nk] or 0.0)
        units = None
        if len(r) > 4 + nk:  # a unit of analysis: C, Σy², Σy·n, Σn²
            c, yy, yn, nn = (float(x or 0.0) for x in r[4 + nk : 8 + nk])
            units = (c, yy, yn, nn)
        grouped = [i for i in range(nk) if not gid & (1 << (nk - 1 - i))]
        if not grouped:
            total = SliceRow((), n, s, ss, units)
            continue
        if any(values[i] is None for i in grouped):
            continue
        if len(grouped) == 1:
            k = grouped[0]
            per_key[k] = per_key.get(k, 0) + 1
            if per_key[k] > q.max_values_per_key:
                truncated = True
                continue
        keys = tuple((labels[i], str(values[i])) for i in grouped)
        out.append(SliceRow(keys, n, s, ss, units))
    return SliceFrame(total, out, truncated)
