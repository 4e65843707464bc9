"""Several metric queries answered from one scan of the spans (ADR 0033).

The monitor engine asks, in one cycle, for the baseline history of every plan (one filter set
and segment key each) over the same horizon, and for every plan's window. Asked one by one,
each query scans the horizon again, extracts its segment key from the metadata JSON again and
hash-groups its rows again. Queries that share the project, the time range and the bucket
width (`ScanKey`) are instead answered from one scan (`scan_sql`) that reads each span once
with a flag per distinct filter set, each distinct group key and each distinct value
column; the rows come back as Arrow columns and every query's frame is cut from them in
numpy (`frames`): counts and rates with `bincount`, exact quantiles from one sort per
(value column, group key), each query then a mask over that order.

Only what this module reproduces exactly is batched (`batchable`): counts, outcome rates
and quantiles of typed columns, grouped by at most one span key, without a sliding window.
Everything else goes through `compile_metric` one by one, and so does a scan whose values hold
a NaN (NULLs are held as NaN here) or a magnitude the exact multiply-add is not proven for.
The frames equal `compile_metric`'s: the same rows in the same order (bucket, then group with
NULL last), the ``max_groups`` largest groups (ties by group), DuckDB's interpolation for
``quantile_cont`` (`_interpolate`) and ``avg`` as Σ / n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.clock import from_unix_us
from llmpulse.domain.metrics import Agg, MetricField, MetricSpec, Source
from llmpulse.store.api import SpanFilter, TimeRange
from llmpulse.store.events.arrow_numpy import arrow_column, ranks
from llmpulse.store.events.compiler import to_naive_utc
from llmpulse.store.events.duckdb_dialect import bucket_offset
from llmpulse.store.events.fma import fma
from llmpulse.store.events.metrics import (
    MetricDialect,
    _filters,
    _From,
    field_expr,
    group_expr,
)
from llmpulse.store.events.results import key_labels
from llmpulse.store.metric_api import MetricColumns, MetricFrame, MetricQuery, MetricRow

MAX_ROWS = 2**31 - 1
"""Most rows a shared scan holds in numpy (row numbers are 32-bit); more and SQL answers."""
MAX_CELLS = 4_000_000
"""Most (bucket, group) cells a batched query may have; more and it runs alone in SQL."""
# Values whose products could overflow or underflow in `fma.fma`: the SQL path answers them.
_LARGEST, _SMALLEST = 1e290, 1e-200
Ints = npt.NDArray[np.signedinteger[Any]]  # row numbers are 32-bit, counts and cells 64
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ScanKey:
    """What queries answered from one scan share."""

    project: str
    time: TimeRange
    bucket_s: int | None


@dataclass(slots=True)
class Scan:
    """One scan: the queries it answers (by their index in the batch) and its SQL."""

    key: ScanKey
    queries: list[tuple[int, MetricQuery]] = field(default_factory=list)
    filters: list[SpanFilter] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    values: list[MetricField] = field(default_factory=list)


def batchable(q: MetricQuery) -> bool:
    """Whether ``q`` can be answered from a shared scan with exactly `compile_metric`'s frame."""
    if q.slide != 1 or len(q.group_by) > 1 or any(not isinstance(k, str) for k in q.group_by):
        return False
    return all(_supported(m) for m in q.metrics)


def _supported(m: MetricSpec) -> bool:
    if m.field.source is Source.COUNT:
        return m.agg is Agg.COUNT
    if m.field.source is Source.ERROR:
        return m.agg in (Agg.COUNT, Agg.RATE)
    if m.field.source is Source.COLUMN:
        return m.agg is Agg.COUNT or m.quantile is not None
    return False


def plan_scans(qs: Sequence[MetricQuery]) -> list[Scan]:
    """The shared scans of ``qs``, two or more queries each (the others run alone)."""
    groups: dict[ScanKey, Scan] = {}
    for i, q in enumerate(qs):
        if not batchable(q):
            continue
        width = None if q.bucket is None else int(q.bucket.total_seconds())
        key = ScanKey(q.project, q.time, width)
        scan = groups.setdefault(key, Scan(key))
        scan.queries.append((i, q))
        if q.where not in scan.filters:
            scan.filters.append(q.where)
        for k in q.group_by:
            if isinstance(k, str) and k not in scan.keys:
                scan.keys.append(k)
        for m in q.metrics:
            if m.field.source is not Source.COUNT and m.field not in scan.values:
                scan.values.append(m.field)
    return [scan for scan in groups.values() if len(scan.queries) > 1]


def scan_sql(scan: Scan, d: MetricDialect) -> tuple[str, list[Any]]:
    """One pass over the scan's spans: bucket, a flag per filter set, keys and values."""
    width = scan.key.bucket_s
    cols = [f"{d.bucket(width)} AS b" if width else "0 AS b"]
    params: list[Any] = []
    flags = []
    for i, where in enumerate(scan.filters):
        w = _filters(scan.key.project, TimeRange(), where, d)
        cols.append(f"COALESCE(({w.sql()}), FALSE) AS f{i}")
        params.extend(w.params)
        flags.append(f"f{i}")
    for i, k in enumerate(scan.keys):
        cols.append(f"{group_expr(k, 0, d, params)} AS k{i}")
    for i, f in enumerate(scan.values):
        # Fields of typed columns only (`batchable`): no annotation joins, no parameters.
        cols.append(f"{field_expr(f, scan.key.project, _From(), d, params)} AS v{i}")
    t = scan.key.time
    conds = ["project = ?"]
    params.append(scan.key.project)
    if t.start is not None:
        conds.append("start_time >= ?")
        params.append(to_naive_utc(t.start))
    if t.end is not None:
        conds.append("start_time < ?")
        params.append(to_naive_utc(t.end))
    inner = f"SELECT {', '.join(cols)} FROM spans WHERE {' AND '.join(conds)}"
    return f"SELECT * FROM ({inner}) WHERE {' OR '.join(flags)}", params


@dataclass(slots=True)
class ScanColumns:
    """The scan's rows as numpy arrays, and what the queries share: cells and sort orders."""

    b: Ints  # bucket number minus `first`
    first: int
    buckets: int  # bucket numbers from `first` on that the cells cover
    flags: list[Bools]
    codes: list[Ints]  # per key: rank of the value (NULL last), ascending = ORDER BY g
    labels: list[list[str | None]]  # per key: the value of each rank
    values: list[Floats]  # NULL as NaN
    complete: list[bool]  # per value: no NULL
    cells: dict[int | None, Ints] = field(default_factory=dict)
    rows: dict[int, Ints] = field(default_factory=dict)
    by_value: dict[int, Ints] = field(default_factory=dict)
    zeroed: dict[int, Floats] = field(default_factory=dict)
    sorted: dict[tuple[int, int | None], tuple[Ints, Ints, Floats]] = field(default_factory=dict)

    def ncodes(self, ki: int | None) -> int:
        return 1 if ki is None else len(self.labels[ki])

    def cell(self, ki: int | None) -> Ints:
        """Each row's (bucket, group) cell: ascending cells are ``ORDER BY bucket, g``."""
        if ki not in self.cells:
            self.cells[ki] = self.b if ki is None else self.b * self.ncodes(ki) + self.codes[ki]
        return self.cells[ki]

    def filled(self, vi: int) -> Floats:
        """Value ``vi`` with NULL as 0 (adds nothing to a sum)."""
        if vi not in self.zeroed:
            v = self.values[vi]
            self.zeroed[vi] = v if self.complete[vi] else np.nan_to_num(v)
        return self.zeroed[vi]

    def filtered(self, fi: int) -> Ints:
        """The rows that pass filter set ``fi``."""
        if fi not in self.rows:
            self.rows[fi] = np.flatnonzero(self.flags[fi]).astype(np.int32)
        return self.rows[fi]

    def ordered(self, vi: int, ki: int | None) -> tuple[Ints, Ints, Floats]:
        """Every row ordered by cell, then by value ``vi`` (NULL as NaN last): the rows, their
        cells and their values. One sort per (value, key), shared by every filter set."""
        if (vi, ki) not in self.sorted:
            if vi not in self.by_value:  # equal values are interchangeable: need not be stable
                self.by_value[vi] = np.argsort(self.values[vi])
            by_value = self.by_value[vi]
            cells = self.cell(ki)[by_value]
            # The cell sort must be stable; on 16-bit keys numpy's is a linear radix sort.
            small = self.buckets * self.ncodes(ki) <= 1 << 16
            order = np.argsort(cells.astype(np.uint16) if small else cells, kind="stable")
            rows = by_value[order].astype(np.int32)  # 32 bits: half the memory (MAX_ROWS)
            self.sorted[(vi, ki)] = (rows, cells[order], self.values[vi][rows])
        return self.sorted[(vi, ki)]


def frames(scan: Scan, cols: ScanColumns | None) -> list[MetricColumns | None]:
    """Each query's frame from the scan's `columns`, in the order of ``scan.queries``; None
    for a query the SQL path must answer: every query if `columns` gave None, and a query
    with more (bucket, group) cells than `MAX_CELLS`."""
    if cols is None:
        return [None] * len(scan.queries)
    return [_frame(scan, q, cols) for _, q in scan.queries]


def columns(scan: Scan, table: pa.Table) -> ScanColumns | None:
    """The scan's Arrow rows as numpy columns (the table can go once this returns); None if a
    value is NaN (NULLs are held as NaN here, and a column with both could not tell them
    apart) or of a magnitude `fma.fma` is not exact for."""
    if table.num_rows > MAX_ROWS:
        return None
    numbers = arrow_column(table.column("b"))[0].astype(np.int64)
    first = int(numbers.min()) if len(numbers) else 0
    buckets = int(numbers.max()) - first + 1 if len(numbers) else 0
    flags = [arrow_column(table.column(f"f{i}"))[0] for i in range(len(scan.filters))]
    codes, labels = [], []
    for i in range(len(scan.keys)):
        code, label = ranks(table.column(f"k{i}"))
        codes.append(code)
        labels.append(label)
    values, complete = [], []
    for i in range(len(scan.values)):
        col = pc.cast(table.column(f"v{i}"), pa.float64())
        v, ok = arrow_column(col)
        v = np.where(ok, v.astype(np.float64), math.nan)
        size = np.abs(v[ok])
        if np.isnan(size).any() or (size > _LARGEST).any() or (size[size > 0] < _SMALLEST).any():
            return None
        values.append(v)
        complete.append(bool(ok.all()))
    return ScanColumns(numbers - first, first, buckets, flags, codes, labels, values, complete)


def _frame(scan: Scan, q: MetricQuery, c: ScanColumns) -> MetricColumns | None:
    ki = scan.keys.index(str(q.group_by[0])) if q.group_by else None  # str keys (`batchable`)
    ncodes = c.ncodes(ki)
    size = max(1, c.buckets * ncodes)
    if size > MAX_CELLS:
        return None
    fi = scan.filters.index(q.where)
    rows = c.filtered(fi)
    cell = c.cell(ki)[rows]
    n = np.bincount(cell, minlength=size)
    groups = np.flatnonzero(n > 0)
    if ki is not None and len(groups):
        totals = n.reshape(-1, ncodes).sum(axis=0)  # spans per group over all buckets
        groups = groups[_top_codes(totals, q.max_groups)[groups % ncodes]]
    query = _Query(c, fi, rows, cell, size, ki, groups)
    answers = [query.metric(scan, m, n) for m in q.metrics]
    bucket_us = None
    if scan.key.bucket_s:
        w = scan.key.bucket_s * 1_000_000
        bucket_us = (groups // ncodes + c.first) * w - bucket_offset(w)
    labels = c.labels[ki] if ki is not None else [None]
    shape = (len(groups), len(q.metrics))
    return MetricColumns(
        tuple(m.name for m in q.metrics),
        key_labels(q.group_by),
        bucket_us,
        tuple(() if ki is None else (label,) for label in labels),
        groups % ncodes,
        n[groups],
        np.stack([a[0] for a in answers], axis=1).reshape(shape),
        np.stack([a[1] for a in answers], axis=1).reshape(shape),
    )


def to_frame(cols: MetricColumns) -> MetricFrame:
    """The frame the columns hold (as `compile_metric`'s rows decode)."""
    nm = len(cols.metrics)
    buckets: list[datetime | None] = [None] * len(cols.n)
    if cols.bucket_us is not None:
        starts: dict[int, datetime] = {}
        buckets = [starts.setdefault(us, from_unix_us(us)) for us in cols.bucket_us.tolist()]
    values = [tuple(None if v != v else v for v in row) for row in cols.values.tolist()]
    rows = [
        MetricRow(bucket, cols.groups[g], n, vals, tuple(sup), (0,) * nm)
        for bucket, g, n, vals, sup in zip(
            buckets,
            cols.group_index.tolist(),
            cols.n.tolist(),
            values,
            cols.support.tolist(),
            strict=True,
        )
    ]
    return MetricFrame(cols.metrics, cols.group_by, rows)


def _top_codes(totals: Ints, limit: int) -> Bools:
    """Which groups are among the ``limit`` largest (ties by the group's order, NULL last)."""
    ncodes = len(totals)
    present = np.flatnonzero(totals > 0)
    best = present[np.lexsort((present, -totals[present]))][:limit]
    kept = np.zeros(ncodes, dtype=bool)
    kept[best] = True
    return kept


@dataclass(slots=True)
class _Query:
    """One query: its rows and their cells, its output cells (``groups``), and per value
    field what its metrics share."""

    c: ScanColumns
    fi: int
    rows: Ints
    cell: Ints
    size: int
    ki: int | None
    groups: Ints
    supports: dict[int, Ints] = field(default_factory=dict)
    runs: dict[int, tuple[Ints, Ints, Floats]] = field(default_factory=dict)

    def support(self, vi: int, n: Ints) -> Ints:
        """Per cell, the rows with a value of field ``vi``."""
        if vi not in self.supports:
            if self.c.complete[vi]:
                self.supports[vi] = n
            else:
                has = ~np.isnan(self.c.values[vi][self.rows])
                self.supports[vi] = np.bincount(self.cell[has], minlength=self.size)
        return self.supports[vi]

    def metric(self, scan: Scan, m: MetricSpec, n: Ints) -> tuple[Floats, Ints]:
        """The metric's value (NaN where SQL gives NULL) and support, per output cell."""
        g = self.groups
        if m.field.source is Source.COUNT:
            return n[g].astype(np.float64), n[g]
        vi = scan.values.index(m.field)
        support = self.support(vi, n)[g]
        if m.agg is Agg.COUNT:
            return support.astype(np.float64), support
        if m.agg is Agg.RATE:
            weights = self.c.filled(vi)[self.rows]
            bad = np.bincount(self.cell, weights=weights, minlength=self.size)[g]
            with np.errstate(invalid="ignore", divide="ignore"):
                value = bad / support
        else:
            value = self.quantile(vi, m.quantile or 0.0, n)[g]
        out: Floats = np.where(support > 0, value, np.nan)
        return out, support

    def quantile(self, vi: int, q: float, n: Ints) -> Floats:
        """``quantile_cont`` per cell (NaN where the cell has no value)."""
        if vi not in self.runs:
            rows, all_cells, all_values = self.c.ordered(vi, self.ki)
            mine = self.c.flags[self.fi][rows]
            cells, values = all_cells[mine], all_values[mine]
            starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]]) if len(cells) else cells
            self.runs[vi] = (cells[starts], starts, values)
        run_cells, starts, values = self.runs[vi]
        out = np.full(self.size, np.nan)
        count = self.support(vi, n)[run_cells]  # a cell's values first, its NULLs (NaN) last
        has = count > 0
        run_cells, starts, count = run_cells[has], starts[has], count[has]
        if len(starts) == 0:
            return out
        rn = (count - 1).astype(np.float64) * q
        lo = np.floor(rn).astype(np.int64)
        hi = np.ceil(rn).astype(np.int64)
        low, high = values[starts + lo], values[starts + hi]
        out[run_cells] = np.where(lo == hi, low, _interpolate(low, rn - lo, high))
        return out


def _interpolate(lo: Floats, d: Floats, hi: Floats) -> Floats:
    """DuckDB's ``quantile_cont`` between two order statistics: its C++ reads
    ``lo * (1.0 - d) + hi * d``, which the engine's build computes as one fused multiply-add,
    ``fma(lo, 1 - d, hi * d)`` (checked value for value against DuckDB by the tests); numpy has
    no fused multiply-add, so it is emulated exactly (`fma.fma`)."""
    return fma(lo, 1.0 - d, hi * d)
