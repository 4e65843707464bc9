"""Pre-aggregated span counts per 10-minute slot and latency bin (ADR 0021).

``span_sketch`` holds, per (project, slot, root or not, latency bin), how many spans started
in that slot. The bins are DDSketch's logarithmic mapping with relative accuracy
``ALPHA`` = a = 1 %: bin ``i`` holds latencies in ``(g^(i-1), g^i]``, ``g = (1+a)/(1-a)``,
its representative ``2g^i/(g+1)`` is within ``a`` of every value in it (zero and negative
latencies share one bin valued 0). The store adds committed batches' counts behind ingest,
many batches in one `upsert_sql` (under the writer's lock; `summary_upkeep`, ADR 0039):
DuckDB lets one transaction write only one attached database, and the sketch lives in the
in-memory one. Until then the batches wait in a backlog that readers count as well;
`SketchGuard` keeps readers off the sketch while a change is in flight.

A metric query of span counts, and (when asked for approximately) of latency quantiles,
over the whole project or its root spans, unbucketed or in buckets of whole slots, is then
answered from the slots that lie wholly inside its time range plus the spans of the two
partial slots at its edges, counted into the same bins (`plan`): counts are exact, and a
quantile interpolates between the representatives of the two order statistics that
``quantile_cont`` interpolates between, so it is within ``a`` of the exact answer.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from llmpulse.clock import from_unix_us, to_unix_us
from llmpulse.domain.metrics import Agg, Source
from llmpulse.store.api import AttrEquals, SpanFilter
from llmpulse.store.events.columns import resolve_attribute_key
from llmpulse.store.events.duckdb_dialect import bucket_offset
from llmpulse.store.events.layout import METADATA_KV_COLUMN, METADATA_KV_SQL, metadata_pair
from llmpulse.store.metric_api import MetricFrame, MetricQuery, MetricRow

TABLE = "memory.main.span_sketch"
ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
SLOT_S = 600
_SLOT_US = SLOT_S * 1_000_000
# The dialect's bucket offset for slots: slot numbers are 10-minute bucket numbers.
_OFFSET_US = bucket_offset(_SLOT_US)
ZERO_BIN = -1_000_000
PIN_SQL = f"SELECT (SELECT 1 FROM spans LIMIT 0), (SELECT 1 FROM {TABLE} LIMIT 0)"
"""A statement that reads nothing from the spans' database and the summaries' (in-memory)
one: run first in a transaction, it fixes the snapshot of both (`DuckDBEngine._pinned_read`)."""
SLOT_SQL = f"((epoch_us(start_time) + {_OFFSET_US}) // {_SLOT_US})"
SLOT_US, OFFSET_US = _SLOT_US, _OFFSET_US
"""A slot number is ``(epoch microseconds + OFFSET_US) // SLOT_US`` (`SLOT_SQL`)."""
BIN_SQL = (
    f"CASE WHEN latency_ms > 0 THEN CAST(ceil(ln(latency_ms) / {math.log(GAMMA)!r}) AS INTEGER) "
    f"ELSE {ZERO_BIN} END"
)
ROOT_SQL = "(parent_span_id IS NULL)"
SKETCH_COLUMNS_SQL = f"project, {SLOT_SQL} AS slot, {ROOT_SQL} AS root, {BIN_SQL} AS bin"


def upsert_sql(source: str) -> str:
    """SQL adding the counts of the spans in relation ``source`` to the sketch."""
    return (
        f"INSERT INTO {TABLE} SELECT {SKETCH_COLUMNS_SQL}, count(*) AS n FROM {source} "
        "GROUP BY ALL ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n"
    )


def build(con: duckdb.DuckDBPyConnection, rows: pa.Table | None = None) -> None:
    """Create the sketch in the connection's in-memory catalog and fill it from the stored
    spans (or with ``rows``, a sketch exported by `summaries.export` from the same spans)."""
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    con.execute(
        f"CREATE TABLE {TABLE} (project VARCHAR NOT NULL, slot BIGINT NOT NULL, "
        "root BOOLEAN NOT NULL, bin INTEGER NOT NULL, n BIGINT NOT NULL, "
        "PRIMARY KEY (project, slot, root, bin))"
    )
    if rows is None:
        con.execute(upsert_sql("spans"))
    else:
        con.from_arrow(rows).insert_into(TABLE)


def add(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> None:
    """Add the counts of a committed batch of spans (Arrow, the span columns)."""
    sketch_batch = batch  # noqa: F841 - DuckDB's replacement scan reads it by name
    con.execute(upsert_sql("sketch_batch"))


def rebuild_project(con: duckdb.DuckDBPyConnection, project: str) -> None:
    """Recount one project's sketch rows from its stored spans (after spans were deleted).

    Call it under the store's write lock, so that no append adds to the sketch meanwhile."""
    con.execute(f"DELETE FROM {TABLE} WHERE project = ?", [project])
    con.execute(upsert_sql("(SELECT * FROM spans WHERE project = ?)"), [project])


I64 = npt.NDArray[np.int64]


def bin_of(latency_ms: float) -> int:
    """The sketch bin of a latency: `BIN_SQL` (``ceil(ln(x) / ln(gamma))``, zero and
    negative latencies in `ZERO_BIN`)."""
    return math.ceil(math.log(latency_ms) / _LN_GAMMA) if latency_ms > 0 else ZERO_BIN


_LN_GAMMA = math.log(GAMMA)
_NEAR_EDGE = 1e-9
"""How close to a whole number ``ln(x) / ln(gamma)`` must come for `bins_of` to recompute it
with libm: numpy's ``log`` may differ from libm's by a few ulps (~1e-13 in the quotient)."""


def bins_of(latencies_ms: npt.NDArray[np.float64]) -> I64:
    """`bin_of` of every latency, in numpy (at 10M spans a window's two edge slots hold ~10^4
    root spans, and `bin_of` per value took ~0.35 us each). numpy's ``log`` is not libm's,
    so a quotient within `_NEAR_EDGE` of a bin edge is recomputed by `bin_of`; elsewhere an
    ulp cannot move the ceiling. Zero, negative and NaN latencies fall in `ZERO_BIN`, as
    in `bin_of`."""
    out = np.full(len(latencies_ms), ZERO_BIN, dtype=np.int64)
    positive = np.flatnonzero(latencies_ms > 0)
    if not len(positive):
        return out
    ratio = np.log(latencies_ms[positive]) / _LN_GAMMA
    out[positive] = np.ceil(ratio).astype(np.int64)
    near = positive[np.abs(ratio - np.rint(ratio)) < _NEAR_EDGE]
    for i in near.tolist():
        out[i] = bin_of(float(latencies_ms[i]))
    return out


def representative(b: int) -> float:
    """The value that stands for every latency in bin ``b``."""
    return 0.0 if b == ZERO_BIN else 2 * GAMMA**b / (GAMMA + 1)


def slot_of(t: datetime) -> int:
    """The slot number of an aware instant."""
    return (to_unix_us(t) + _OFFSET_US) // _SLOT_US


def slot_start(s: int) -> datetime:
    """Where slot ``s`` starts (naive UTC, as the stored start times)."""
    return from_unix_us(s * _SLOT_US - _OFFSET_US).replace(tzinfo=None)


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Plan:
    """The SQL of a sketch answer: rows ``bucket number, bin, n`` (bin NULL for counts)."""

    sql: str
    params: list[object]
    bucket_s: int | None
    quantiles: tuple[float | None, ...]


PENDING = "pending_spans"
"""The name a reader gives the committed spans not in the summaries yet (ADR 0039)."""
PAIR_TABLE = "memory.main.pair_sketch"
"""The pair sketch (`pair_sketch`, ADR 0036): counts per (project, slot, metadata pair)."""
Counted = Callable[[str, str], bool]
"""Whether the pair sketch counts a metadata key (project, key) now."""


@dataclass(frozen=True, slots=True)
class _Source:
    """The summary table that answers, and how its rows and the edge spans are selected."""

    table: str
    cond: str
    span_cond: str
    params: tuple[object, ...]
    bins: bool
    pending_cond: str


def metadata_pair_of(
    project: str, attributes: tuple[AttrEquals, ...], counted: Counted
) -> str | None:
    """The pair of a lone ``metadata.<key> = value`` filter whose key the pair sketch counts."""
    if len(attributes) != 1:
        return None
    ref = resolve_attribute_key(attributes[0].key, "attributes[0].key")
    if ref.column != "metadata" or ref.json_key is None or not counted(project, ref.json_key):
        return None
    return metadata_pair(ref.json_key, attributes[0].value)


def _source(q: MetricQuery, counted: Counted | None) -> _Source | None:
    if q.slide != 1 or q.group_by:
        return None
    if q.bucket is not None and q.bucket.total_seconds() % SLOT_S:
        return None
    counts_only = all(m.field.source is Source.COUNT and m.agg is Agg.COUNT for m in q.metrics)
    pair = None
    if counted is not None and counts_only and q.where.attributes:
        pair = metadata_pair_of(q.project, q.where.attributes, counted)
        if pair is None or q.where != SpanFilter(attributes=q.where.attributes):
            return None
        cond = f" AND list_contains({METADATA_KV_COLUMN}, ?)"
        pending = f" AND list_contains({METADATA_KV_SQL}, ?)"  # the logical columns
        return _Source(PAIR_TABLE, " AND pair = ?", cond, (pair,), False, pending)
    if q.where not in (SpanFilter(), SpanFilter(root_only=True)):
        return None
    for m in q.metrics:
        if m.field.source is Source.COUNT and m.agg is Agg.COUNT:
            continue
        exact_only = not q.approximate or m.quantile is None
        if exact_only or m.field.source is not Source.COLUMN or m.field.column != "latency_ms":
            return None
    root = q.where.root_only
    span_cond = f" AND {ROOT_SQL}" * root
    return _Source(TABLE, " AND root" * root, span_cond, (), True, span_cond)


def plan(q: MetricQuery, counted: Counted | None = None, pending: bool = False) -> Plan | None:
    """The sketch query answering ``q``, or None when only the spans can (see module).

    ``counted`` says which metadata keys the pair sketch counts (None: leave it out).
    ``pending``: committed spans not in the summaries yet are in relation `PENDING` (the
    logical span columns, ADR 0039); its spans in the whole slots are counted as well (those
    in the edge slots are stored spans, counted there)."""
    src = _source(q, counted)
    if src is None:
        return None
    start, end = q.time.start, q.time.end
    lo = None if start is None else -(-(to_unix_us(start) + _OFFSET_US) // _SLOT_US)
    hi = None if end is None else slot_of(end)
    if lo is not None and hi is not None and hi < lo:
        lo = hi = None  # inside one slot: no whole slot, the spans answer
        whole, edges = "FALSE", ["start_time >= ? AND start_time < ?"]
        edge_params: list[object] = [_naive(start), _naive(end)]  # type: ignore[arg-type]
    else:
        whole, edges, edge_params = _ranges(q, lo, hi)
    width = int(q.bucket.total_seconds()) if q.bucket is not None else None
    bucket = "NULL" if width is None else _bucket_of_slot(width)
    needs_bins = any(m.quantile is not None for m in q.metrics)
    bin_col = "bin" if needs_bins else "NULL"
    table_bin, span_bin = ("bin", BIN_SQL) if src.bins else ("NULL", "NULL")
    edge_sql = " OR ".join(f"({e})" for e in edges) or "FALSE"
    pending_sql = ""
    pending_params: list[object] = []
    if pending and whole != "FALSE":
        pending_sql = (
            f" UNION ALL SELECT slot, bin, count(*) AS n FROM (SELECT {SLOT_SQL} AS slot, "
            f"{span_bin} AS bin FROM {PENDING} WHERE project = ?{src.pending_cond}) "
            f"WHERE {whole} GROUP BY ALL"
        )
        pending_params = [q.project, *src.params, *_whole_params(lo, hi)]
    sql = (
        f"SELECT {bucket} AS b, {bin_col} AS bin, sum(n)::BIGINT AS n FROM ("
        f"SELECT slot, {table_bin} AS bin, n FROM {src.table} WHERE project = ?{src.cond} "
        f"AND {whole} UNION ALL SELECT {SLOT_SQL} AS slot, {span_bin} AS bin, count(*) AS n "
        f"FROM spans WHERE project = ?{src.span_cond} AND ({edge_sql}) GROUP BY ALL"
        f"{pending_sql}) GROUP BY ALL ORDER BY b, bin"
    )
    params: list[object] = [q.project, *src.params]
    params += [] if whole == "FALSE" else _whole_params(lo, hi)
    params += [q.project, *src.params, *edge_params, *pending_params]
    return Plan(sql, params, width, tuple(m.quantile for m in q.metrics))


def shape(q: MetricQuery) -> Plan | None:
    """`plan`'s bucket width and quantiles for ``q`` over the span sketch, without its SQL
    (empty): for the answers that do not run it (`sketch_copy`). None when `plan` (leaving
    the pair sketch out) gives none."""
    if _source(q, None) is None:
        return None
    width = int(q.bucket.total_seconds()) if q.bucket is not None else None
    return Plan("", [], width, tuple(m.quantile for m in q.metrics))


def _ranges(q: MetricQuery, lo: int | None, hi: int | None) -> tuple[str, list[str], list[object]]:
    """Whole-slot condition of the sketch, and the edge ranges the spans answer."""
    conds = []
    if lo is not None:
        conds.append("slot >= ?")
    if hi is not None:
        conds.append("slot < ?")
    edges: list[str] = []
    params: list[object] = []
    if q.time.start is not None and lo is not None:
        edges.append("start_time >= ? AND start_time < ?")
        params += [_naive(q.time.start), slot_start(lo)]
    if q.time.end is not None and hi is not None:
        edges.append("start_time >= ? AND start_time < ?")
        params += [slot_start(hi), _naive(q.time.end)]
    return " AND ".join(conds) or "TRUE", edges, params


def _whole_params(lo: int | None, hi: int | None) -> list[object]:
    return [s for s in (lo, hi) if s is not None]


def _bucket_of_slot(width_s: int) -> str:
    """Epoch-aligned bucket number of a slot's start (`DuckDBDialect.bucket`'s numbering)."""
    w = width_s * 1_000_000
    return f"((slot * {_SLOT_US} - {_OFFSET_US} + {bucket_offset(w)}) // {w})"


def _bucket_start(b: int, width_s: int) -> datetime:
    w = width_s * 1_000_000
    return from_unix_us(b * w - bucket_offset(w))


def frame(q: MetricQuery, p: Plan, rows: list[tuple[Any, ...]]) -> MetricFrame:
    """The `MetricFrame` of the sketch rows (ordered by bucket, then bin)."""
    # Without a bucket or bins the outer GROUP BY has only constants: one row, NULL when no
    # span matched.
    rows = [r for r in rows if r[2]]
    out: list[MetricRow] = []
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j][0] == rows[i][0]:
            j += 1
        out.append(_row(rows[i:j], p))
        i = j
    return MetricFrame(tuple(m.name for m in q.metrics), (), out)


def frame_of_bins(
    q: MetricQuery, p: Plan, bins: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]
) -> MetricFrame:
    """`frame` of the unbucketed rows ``(None, bin, n)`` given as distinct bins, ascending,
    and their counts (numpy arrays): the same row, its quantiles by the same arithmetic,
    with the rank's bin found by `numpy.searchsorted` on the running counts."""
    names = tuple(m.name for m in q.metrics)
    keep = np.flatnonzero(counts)
    if not len(keep):
        return MetricFrame(names, (), [])
    cum = np.cumsum(counts[keep])
    n = int(cum[-1])

    def at(rank: int) -> float:
        return representative(int(bins[keep[int(np.searchsorted(cum, rank, side="right"))]]))

    def quantile(qv: float) -> float:
        h = (n - 1) * qv
        k = math.floor(h)
        low = at(k)
        return low if h == k else low + (h - k) * (at(k + 1) - low)

    values = tuple(float(n) if qv is None else quantile(qv) for qv in p.quantiles)
    row = MetricRow(None, (), n, values, (n,) * len(values), (0,) * len(values))
    return MetricFrame(names, (), [row])


def _row(rows: list[tuple[Any, ...]], p: Plan) -> MetricRow:
    bins = [(int(b), int(n)) for _, b, n in rows if b is not None]
    n = sum(int(r[2]) for r in rows)
    cum = list(itertools.accumulate(c for _, c in bins))
    values = tuple(float(n) if qv is None else _quantile(bins, cum, qv) for qv in p.quantiles)
    b = rows[0][0]
    bucket = None if p.bucket_s is None else _bucket_start(int(b), p.bucket_s)
    return MetricRow(bucket, (), n, values, (n,) * len(values), (0,) * len(values))


def _quantile(bins: list[tuple[int, int]], cum: list[int], q: float) -> float | None:
    """``quantile_cont`` (linear interpolation between order statistics) over the bins."""
    if not cum or not cum[-1]:
        return None
    h = (cum[-1] - 1) * q
    k = math.floor(h)

    def at(rank: int) -> float:
        return representative(bins[bisect.bisect_right(cum, rank)][0])

    low = at(k)
    return low if h == k else low + (h - k) * (at(k + 1) - low)
