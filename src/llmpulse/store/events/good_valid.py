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

from llmpulse.clock import to_unix_us
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import Source
from llmpulse.store.events.compiler import condition_sql, to_naive_utc
from llmpulse.store.events.metrics import Compiled, MetricDialect, _From, field_expr
from llmpulse.store.events.per_unit import UNPRICED_SQL
from llmpulse.store.slo_api import CountQuery, Counts, CountSpec, SpanTest

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
        if (q.end - q.start) % width:
            raise InvalidInput("range not aligned", [FieldError("start", f"multiple of {width}")])
    if (q.end - q.start) / q.bucket > MAX_BUCKETS:
        raise InvalidInput("too many buckets", [FieldError("bucket", f"<= {MAX_BUCKETS}")])


def _annotated(t: SpanTest) -> bool:
    return t.field is not None and t.field.source in (
        Source.ANNOTATION_SCORE,
        Source.ANNOTATION_LABEL,
    )


def _branch_of(s: CountSpec) -> str:
    """Specs that need the same joins share a branch (plain, trace cost, an annotation, a
    slice width); those counting root spans only get a branch of their own that reads only
    root spans (a third of them in a RAG workload)."""
    root = ":root" if SpanTest("root") in s.valid else ""
    return _join_kind(s) + root


def _join_kind(s: CountSpec) -> str:
    if s.slice is not None:
        return f"slice:{int(s.slice.width.total_seconds())}"
    tests = (*s.valid, *s.good)
    if any(t.op in ("trace_cost_le", "priced") for t in tests):
        return "cost"
    names = sorted({t.field.key or "" for t in tests if t.field is not None and _annotated(t)})
    return "ann:" + ",".join(names) if names else "main"


def _prefilter(q: CountQuery, specs: list[CountSpec], branch: str) -> tuple[str, list[Any]]:
    """A WHERE clause every spec of the branch implies, so joins see only candidate rows."""
    if branch.endswith(":root"):
        return " AND spans.parent_span_id IS NULL", []
    if branch.startswith("ann:") and all(
        any(t.op == "present" and _annotated(t) for t in s.valid) for s in specs
    ):
        names = branch[4:].removesuffix(":root").split(",")
        marks = ", ".join("?" * len(names))
        sql = (
            f" AND (spans.span_id IN (SELECT span_id FROM annotations WHERE project = ? AND "
            f"name IN ({marks})) OR spans.prediction_id IN (SELECT prediction_id FROM "
            f"annotations WHERE project = ? AND name IN ({marks})))"
        )
        return sql, [q.project, *names, q.project, *names]
    return "", []


def _branch_sql(
    q: CountQuery, d: MetricDialect, items: list[tuple[int, CountSpec]], branch: str, width: int
) -> Compiled:
    ctx = _Ctx(q, d)
    # Buckets count from the range's start (not the epoch): the evaluation instant can close
    # the last bucket, so no window ends with a bucket that has only begun to fill.
    start_us = to_unix_us(q.start)
    cols = [f"((epoch_us(spans.start_time) - {start_us}) // {width * 1_000_000}) AS b"]
    aggs: list[str] = []
    for i, s in items:
        cols.append(f"{ctx.conj(s.valid)} AS v{i}")
        if s.slice is None:
            cols.append(f"{ctx.conj(s.good)} AS g{i}")
            aggs += [
                f"CAST(sum(CAST(v{i} AS INTEGER)) AS DOUBLE) AS nv{i}",
                f"CAST(sum(CAST(v{i} AND g{i} AS INTEGER)) AS DOUBLE) AS x{i}",
            ]
        else:
            expr = field_expr(s.slice.field, q.project, ctx.frm, d, ctx.params)
            cols.append(f"({expr}) AS f{i}")
            aggs += [
                f"CAST(count(f{i}) FILTER (WHERE v{i}) AS DOUBLE) AS nv{i}",
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
    pre, pre_params = _prefilter(q, [s for _, s in items], branch)
    base = (
        f"SELECT {', '.join(cols)} {ctx.frm.sql()}{tc_join} "
        f"WHERE spans.project = ? AND spans.start_time >= ? AND spans.start_time < ?{pre}"
    )
    params = [
        *ctx.params, *ctx.frm.params, *tc_params, q.project, to_naive_utc(q.start),
        to_naive_utc(min(q.end, q.until or q.end)), *pre_params,
    ]  # fmt: skip
    sql = f"SELECT {width} AS w, b, {', '.join(aggs)} FROM ({base}) GROUP BY b"
    return Compiled(sql, params)


def compile_counts(q: CountQuery, d: MetricDialect) -> Compiled:
    """One statement: a branch per kind of join (plain, trace cost, each annotation, each
    slice width), each grouped by its bucket, the branches joined by ``UNION ALL BY NAME``.

    Specs of one branch share one scan; a branch reads only what its specs need, so a
    quality SLI joins annotations for the annotated spans only, not for every span (20 SLOs
    over 1M spans: 7.1 s with one shared scan and grouping sets, see benchmarks/README.md).
    """
    check(q)
    branches: dict[str, list[tuple[int, CountSpec]]] = {}
    for i, s in enumerate(q.specs):
        branches.setdefault(_branch_of(s), []).append((i, s))
    width = int(q.bucket.total_seconds())
    parts = []
    for name, items in branches.items():
        w = int(name.split(":")[1]) if name.startswith("slice:") else width
        parts.append(_branch_sql(q, d, items, name, w))
    sql = " UNION ALL BY NAME ".join(f"({p.sql})" for p in parts)
    return Compiled(sql, [x for p in parts for x in p.params])


def counts_from_table(q: CountQuery, table: pa.Table) -> list[Counts]:
    """Dense per-spec series from the branches' rows (buckets without spans count zero)."""
    widths = _column(table, "w", 0.0).astype(np.int64)
    buckets = _column(table, "b", -1.0).astype(np.int64)
    out = []
    for i, s in enumerate(q.specs):
        w = (
            int(s.slice.width.total_seconds())
            if s.slice is not None
            else int(q.bucket.total_seconds())
        )
        width = timedelta(seconds=w)
        n = (q.end - q.start) // width
        good, valid = np.zeros(n), np.zeros(n)
        nv_all = _column(table, f"nv{i}", np.nan)
        mine = (widths == w) & ~np.isnan(nv_all)
        idx = buckets[mine]
        nv, x = nv_all[mine], _column(table, f"x{i}", np.nan)[mine]
        keep = (idx >= 0) & (idx < n)
        idx, nv, x = idx[keep], nv[keep], x[keep]
        if s.slice is None:
            np.add.at(valid, idx, nv)
            np.add.at(good, idx, np.nan_to_num(x))
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
