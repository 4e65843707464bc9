"""`CountQuery` → one grouped SQL query (and its rows → dense `Counts`).

Every spec becomes two boolean columns of one scan (valid, good) counted per bucket; time
slices add their quantile per slice through GROUPING SETS, so slices of other widths share
the same scan. A trace-cost test joins per-trace totals computed in the same statement.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.store.events.compiler import condition_sql, to_naive_utc
from llmpulse.store.events.metrics import Compiled, MetricDialect, _From, field_expr
from llmpulse.store.events.per_unit import UNPRICED_SQL
from llmpulse.store.slo_api import CountQuery, Counts, SpanTest

MAX_SPECS = 500
MAX_BUCKETS = 200_000
TRACE_SLACK = timedelta(days=1)
"""A trace's spans are summed over the query range widened by this much on each side."""


class _Ctx:
    def __init__(self, q: CountQuery, d: MetricDialect) -> None:
        self.q, self.d = q, d
        self.frm = _From()
        self.params: list[Any] = []
        self.trace_cost = False

    def test(self, t: SpanTest) -> str:
        if t.op == "ok":
            return "spans.status_code IS DISTINCT FROM 'ERROR'"
        if t.op == "root":
            return "spans.parent_span_id IS NULL"
        if t.op == "matches":
            sql, params = condition_sql(t.conditions, self.d)
            self.params.extend(params)
            return f"COALESCE({sql}, FALSE)"
        if t.op in ("trace_cost_le", "priced"):
            self.trace_cost = True
            if t.op == "priced":
                return "(tc.tc_cost IS NOT NULL AND NOT tc.tc_unknown)"
            return f"(tc.tc_cost <= {float(t.value)!r})"
        if t.field is None:
            raise InvalidInput("test needs a field", [FieldError("field", "missing")])
        expr = field_expr(t.field, self.q.project, self.frm, self.d, self.params)
        if t.op == "present":
            return f"({expr}) IS NOT NULL"
        op = "<=" if t.op == "le" else ">="
        return f"COALESCE(({expr}) {op} {float(t.value)!r}, FALSE)"

    def conj(self, tests: tuple[SpanTest, ...]) -> str:
        return "(" + " AND ".join([self.test(t) for t in tests] or ["TRUE"]) + ")"


def _widths(q: CountQuery) -> list[int]:
    widths = [int(q.bucket.total_seconds())]
    for s in q.specs:
        if s.slice is not None and int(s.slice.width.total_seconds()) not in widths:
            widths.append(int(s.slice.width.total_seconds()))
    return widths


def check(q: CountQuery) -> None:
    """Refuse queries that cannot be answered exactly (misaligned range, too many buckets)."""
    if not 1 <= len(q.specs) <= MAX_SPECS:
        raise InvalidInput("wrong number of SLIs", [FieldError("specs", f"1..{MAX_SPECS}")])
    if q.end <= q.start:
        raise InvalidInput("end must be after start", [FieldError("end", "before start")])
    for w in _widths(q):
        width = timedelta(seconds=w)
        if w < 60 or w % 60:
            raise InvalidInput("bucket too small", [FieldError("bucket", "whole minutes")])
        aligned = q.start.microsecond == 0 and int(q.start.timestamp()) % w == 0
        if not aligned or (q.end - q.start) % width:
            raise InvalidInput("range not aligned", [FieldError("start", f"multiple of {width}")])
    if (q.end - q.start) / q.bucket > MAX_BUCKETS:
        raise InvalidInput("too many buckets", [FieldError("bucket", f"<= {MAX_BUCKETS}")])


def compile_counts(q: CountQuery, d: MetricDialect) -> Compiled:
    """One statement: per bucket width (grouping set), every spec's counts (and quantiles)."""
    check(q)
    ctx = _Ctx(q, d)
    widths = _widths(q)
    cols = [f"{d.bucket(w)} AS b{i}" for i, w in enumerate(widths)]
    aggs: list[str] = []
    for i, s in enumerate(q.specs):
        valid = ctx.conj(s.valid)
        cols.append(f"{valid} AS v{i}")
        if s.slice is None:
            cols.append(f"{ctx.conj(s.good)} AS g{i}")
            aggs += [
                f"count(*) FILTER (WHERE v{i}) AS nv{i}",
                f"CAST(count(*) FILTER (WHERE v{i} AND g{i}) AS DOUBLE) AS x{i}",
            ]
        else:
            expr = field_expr(s.slice.field, q.project, ctx.frm, d, ctx.params)
            cols.append(f"({expr}) AS f{i}")
            aggs += [
                f"count(f{i}) FILTER (WHERE v{i}) AS nv{i}",
                f"{d.quantile(f'f{i}', s.slice.quantile)} FILTER (WHERE v{i}) AS x{i}",
            ]
    tc_join, tc_params = "", []
    if ctx.trace_cost:
        tc_join = (
            " LEFT JOIN (SELECT trace_id AS tc_trace, sum(cost_usd) AS tc_cost, "
            f"bool_or({UNPRICED_SQL}) AS tc_unknown FROM spans WHERE project = ? "
            "AND start_time >= ? AND start_time < ? GROUP BY trace_id) tc "
            "ON tc.tc_trace = spans.trace_id"
        )
        tc_params = [
            q.project,
            to_naive_utc(q.start - TRACE_SLACK),
            to_naive_utc(q.end + TRACE_SLACK),
        ]
    base = (
        f"SELECT {', '.join(cols)} {ctx.frm.sql()}{tc_join} "
        "WHERE spans.project = ? AND spans.start_time >= ? AND spans.start_time < ?"
    )
    params = [
        *ctx.params,
        *ctx.frm.params,
        *tc_params,
        q.project,
        to_naive_utc(q.start),
        to_naive_utc(min(q.end, q.until or q.end)),
    ]
    keys = [f"b{i}" for i in range(len(widths))]
    sets = ", ".join(f"({k})" for k in keys)
    gid = f"GROUPING({', '.join(keys)})" if len(keys) > 1 else "0"
    starts = ", ".join(
        f"{d.bucket_start(k, w)} AS t{j}" for j, (k, w) in enumerate(zip(keys, widths, strict=True))
    )
    sql = (
        f"WITH base AS ({base}) SELECT {gid} AS gid, {starts}, {', '.join(aggs)} "
        f"FROM base GROUP BY GROUPING SETS ({sets})"
    )
    return Compiled(sql, params)


def counts_from_table(q: CountQuery, table: pa.Table) -> list[Counts]:
    """Dense per-spec series from the grouped rows (buckets without spans count zero)."""
    widths = _widths(q)
    n_keys = len(widths)
    start = np.datetime64(to_naive_utc(q.start), "us")
    gids = _column(table, "gid", 0.0).astype(np.int64)
    out = []
    for i, s in enumerate(q.specs):
        w = int(s.slice.width.total_seconds()) if s.slice is not None else widths[0]
        k = widths.index(w)
        gid = sum(1 << (n_keys - 1 - j) for j in range(n_keys) if j != k) if n_keys > 1 else 0
        width = timedelta(seconds=w)
        n = (q.end - q.start) // width
        good, valid = np.zeros(n), np.zeros(n)
        mine = gids == gid
        stamps = table.column(f"t{k}").to_numpy(zero_copy_only=False)[mine]
        idx = ((stamps.astype("datetime64[us]") - start) // np.timedelta64(w, "s")).astype(np.int64)
        nv = _column(table, f"nv{i}", 0.0)[mine]
        x = _column(table, f"x{i}", np.nan)[mine]
        keep = (idx >= 0) & (idx < n)
        idx, nv, x = idx[keep], nv[keep], x[keep]
        if s.slice is None:
            valid[idx], good[idx] = nv, np.nan_to_num(x)
        else:
            has = nv > 0
            valid[idx[has]] = 1.0
            with np.errstate(invalid="ignore"):
                good[idx[has]] = (x[has] <= s.slice.at_most).astype(np.float64)
        out.append(Counts(q.start, width, good, valid))
    return out


def _column(table: pa.Table, name: str, null: float) -> npt.NDArray[np.float64]:
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(pc.fill_null(col, null).to_numpy(zero_copy_only=False), dtype=np.float64)
