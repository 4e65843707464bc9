"""`UnitQuery` compiled to SQL, and its Arrow result turned into a `UnitFrame`.

The unit of analysis (trace, session, user or span; METHODS.md §4.10) is grouped by its hash,
so the per-(value, unit) aggregation is one GROUP BY and the raw form one ordered scan; key
values come back dictionary-encoded, units as dense codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.store.events.metrics import (
    UNIT_SQL,
    Compiled,
    MetricDialect,
    _filters,
    _From,
    field_expr,
    group_expr,
)
from llmpulse.store.events.results import _aware
from llmpulse.store.metric_api import UnitFrame, UnitQuery


def compile_units(q: UnitQuery, d: MetricDialect) -> Compiled:
    """Compile a `UnitQuery` (see its docstring)."""
    frm = _From()
    sel: list[Any] = []
    key = group_expr(q.key, 0, d, sel)
    value = field_expr(q.field, q.project, frm, d, sel)
    where = _filters(q.project, q.time, q.where, d)
    base = (
        f"SELECT {key} AS k, hash({UNIT_SQL[q.unit]}) AS u, {value} AS v, "
        f"spans.start_time AS t {frm.sql()} WHERE {where.sql()}"
    )
    params = [*sel, *frm.params, *where.params]
    keep = "WHERE v IS NOT NULL AND k IS NOT NULL"
    if q.raw:
        sql = f"WITH base AS ({base}) SELECT k, u, v FROM base {keep} ORDER BY v"
    else:
        sql = (
            f"WITH base AS ({base}) SELECT k, u, count(v) AS n, {d.total('v')} AS s, "
            f"{d.total('v * v')} AS ss, min(t) AS first, max(t) AS last "
            f"FROM base {keep} GROUP BY k, u ORDER BY k"
        )
    return Compiled(sql, params)


def unit_frame(q: UnitQuery, table: pa.Table) -> UnitFrame:
    """Arrow rows of `compile_units` → `UnitFrame`."""
    keys = pc.dictionary_encode(table.column("k").combine_chunks())
    labels = [str(v) for v in keys.dictionary.to_pylist()]
    order = np.argsort(np.array(labels, dtype=object)) if labels else np.zeros(0, np.int64)
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels))
    group = rank[keys.indices.to_numpy(zero_copy_only=False).astype(np.int64)]
    hashes = table.column("u").to_numpy()
    _, cluster = np.unique(hashes, return_inverse=True)
    values = tuple(labels[i] for i in order)
    if q.raw:
        v = table.column("v").to_numpy().astype(np.float64)
        return UnitFrame(values, group, cluster.astype(np.int64), np.ones_like(v), v, v * v)
    n = table.column("n").to_numpy().astype(np.float64)
    s = table.column("s").to_numpy().astype(np.float64)
    ss = table.column("ss").to_numpy().astype(np.float64)
    spans = table.group_by("k").aggregate([("first", "min"), ("last", "max")])
    when = {
        str(k): (a, b)
        for k, a, b in zip(spans.column("k").to_pylist(), spans.column("first_min").to_pylist(),
                           spans.column("last_max").to_pylist(), strict=True)
    }  # fmt: skip
    first: list[Any] = [when[v][0] for v in values]
    last: list[Any] = [when[v][1] for v in values]
    return UnitFrame(
        values, group, cluster.astype(np.int64), n, s, ss, tuple(map(_aware, first)),
        tuple(map(_aware, last)),
    )  # fmt: skip
