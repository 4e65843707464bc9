"""A copy of a project's span sketch in numpy arrays, read without a SQL statement (ADR 0040).

The span sketch (`sketch`, ADR 0021) lives in a DuckDB table; summing its rows for a window
took one statement of ~2.5 ms at 30k spans, most of it the statement's fixed cost and the
scan of the table, for an answer that sums a few thousand small rows. `SketchCopy` holds each
project's sketch rows (slot, root, bin, n; sorted by slot) as numpy arrays, taken with one
statement and kept while the sketch does not change: `SketchGuard.sketch_version` moves with
every change of the summaries, so a copy taken at one version is the sketch while the guard
is at that version. A commit does not move it: it only adds spans to the summaries' backlog,
which a read adds to the copy's whole slots (ADR 0064; before, a read with a backlog was
one statement over the sketch table and the backlog, the usual case under streaming ingest).
A read then needs the spans only at the window's two partial edge slots (one statement
reading their latencies, binned here; none when the window starts and ends on slot edges).

It answers exactly what the statement of `sketch.plan` answers (rows ``bucket, bin, n``
ordered by bucket and bin), for the span sketch's plans (counts, approximate latency
quantiles, the project or its root spans, unbucketed or in buckets of whole slots), and the
slot that bounds a newest-first listing (`newest`). The caller runs both inside
`SketchGuard.read`, so that an answer read while the sketch changed is dropped.

It is a copy of an index, not of answers: every query sums its own window, and no answer is
kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from llmpulse.clock import from_unix_us, to_unix_us
from llmpulse.store.api import SpanFilter
from llmpulse.store.events import sketch
from llmpulse.store.events.duckdb_dialect import bucket_offset
from llmpulse.store.events.edge_spans import Chunk, EdgeState, backlog_chunk
from llmpulse.store.events.sketch import bins_of
from llmpulse.store.metric_api import MetricFrame, MetricQuery

Query = Callable[[str, Sequence[Any]], dict[str, Any]]
"""Runs SQL with parameters on the store's reader: the result's columns as numpy arrays."""
Rows = list[tuple[Any, ...]]
I64 = npt.NDArray[np.int64]

_LOAD_SQL = f"SELECT slot, root, bin, n FROM {sketch.TABLE} WHERE project = ?"
"""In the table's order (mostly by slot already: slots are added as time moves); `_arrays`
sorts by slot only when it is not, which costs less than the statement's sort did."""


@dataclass(frozen=True, slots=True)
class _Rows:
    """Sketch rows sorted by slot, each row's bin as an index into their distinct bins (so a
    window's bins are one `numpy.bincount`, no sort), and the spans per slot (so a count
    sums one number a slot instead of one a bin: a day of slots at 1M spans is ~40k rows)."""

    slot: I64
    bin: I64
    n: I64
    bins: I64  # distinct bins, ascending
    bin_index: I64  # per row, its bin's index in ``bins``
    slots: I64  # distinct slots, ascending
    slot_n: I64  # spans per distinct slot (every bin)

    @classmethod
    def of(cls, slot: I64, bin_: I64, n: I64) -> _Rows:
        bins, index = _distinct(bin_)
        first = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]]) if len(slot) else slot
        totals = np.add.reduceat(n, first) if len(n) else np.zeros(0, dtype=np.int64)
        return cls(
            slot, bin_, n, bins, index, slot[first].astype(np.int64), totals.astype(np.int64)
        )

    def window(self, lo: int | None, hi: int | None, *, per_slot: bool = False) -> slice:
        """The rows of the slots in ``[lo, hi)`` (None: unbounded); with ``per_slot``, the
        entries of ``slots`` and ``slot_n`` there."""
        at = self.slots if per_slot else self.slot
        i0 = 0 if lo is None else int(np.searchsorted(at, lo, side="left"))
        i1 = len(at) if hi is None else int(np.searchsorted(at, hi, side="left"))
        return slice(i0, i1)

    def per_bin(self, keep: slice) -> tuple[I64, I64]:
        """Distinct bins of the rows in ``keep`` and their counts, ascending by bin."""
        sums = np.bincount(self.bin_index[keep], weights=self.n[keep], minlength=len(self.bins))
        nonzero = np.flatnonzero(sums)
        return self.bins[nonzero], sums[nonzero].astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Project:
    """One project's sketch rows at one guard version: every row, and the root spans' rows."""

    version: int
    every: _Rows
    roots: _Rows


_DENSE_RANGE = 1 << 20
"""Widest range of bins counted in a dense array (`_distinct`); wider ones are sorted."""


def _distinct(values: I64) -> tuple[I64, I64]:
    """``np.unique(values, return_inverse=True)``, in linear time when the values span less
    than `_DENSE_RANGE` (latency bins span a few thousand): the sort of `numpy.unique` was
    most of a reload's time at 1M spans (ADR 0043)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = int(values.min())
    if int(values.max()) - low >= _DENSE_RANGE:
        bins, index = np.unique(values, return_inverse=True)
        return bins.astype(np.int64), index.reshape(-1).astype(np.int64)
    offset = values - low
    present = np.bincount(offset) > 0
    position = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present).astype(np.int64) + low, position[offset]


def _arrays(cols: dict[str, Any], version: int) -> _Project:
    slot = np.asarray(cols["slot"], dtype=np.int64)
    n = np.asarray(cols["n"], dtype=np.int64)
    bin_ = np.asarray(cols["bin"], dtype=np.int64)
    root = np.asarray(cols["root"], dtype=np.bool_)
    if len(slot) > 1 and bool(np.any(slot[1:] < slot[:-1])):
        order = np.argsort(slot, kind="stable")
        slot, n, bin_, root = slot[order], n[order], bin_[order], root[order]
    return _Project(version, _Rows.of(slot, bin_, n), _Rows.of(slot[root], bin_[root], n[root]))


def backlog_slots(pending: pa.Table | None, project: str) -> tuple[I64, I64] | None:
    """The slots (ascending) of the spans of ``project`` in the summaries' backlog
    (`SummaryUpkeep.pending`) and how many spans each holds; None when it has none."""
    spans = None if pending is None else backlog_chunk(pending, project)
    if spans is None:
        return None
    slots, counts = np.unique(
        (spans.start + sketch.OFFSET_US) // sketch.SLOT_US, return_counts=True
    )
    return slots.astype(np.int64), counts.astype(np.int64)


class SketchCopy:
    """Per project, the span sketch's rows at the guard's current version (see module)."""

    def __init__(self, version: Callable[[], int]) -> None:
        """``version``: the guard's version now (`SketchGuard.sketch_version`)."""
        self._version = version
        self._projects: dict[str, _Project] = {}
        self._lock = threading.Lock()

    def _project(
        self, query: Query, project: str, version: int | None = None, snapshot: bool = False
    ) -> _Project:
        """The project's rows at the current version, taken again when the sketch moved.

        A copy taken while a change was in flight carries a version that no later read
        sees (every change moves the version when it begins and when it ends). With
        ``version``: the rows at that version, which ``query`` reads (``snapshot``: in a
        snapshot pinned then, ADR 0050). A copy is kept only when it was read in that
        snapshot or the sketch stayed at its version while it was read: a copy kept under a
        version the sketch had left would hold spans that a reader at that version adds
        from the backlog again (a round's kept moment is read at the version before the
        round, ADR 0071)."""
        if version is None:
            version = self._version()
        held = self._projects.get(project)
        if held is not None and held.version == version:
            return held
        fresh = _arrays(query(_LOAD_SQL, [project]), version)
        if not snapshot and self._version() != version:
            return fresh  # the sketch may have moved before the load read it: not kept
        with self._lock:
            held = self._projects.get(project)
            if held is None or held.version < version:  # (never a newer copy replaced)
                self._projects[project] = fresh
        return fresh

    def refresh(self, query: Query) -> int:
        """Take again every project's copy that the sketch moved past; returns how many
        were taken. The summaries' thread calls it after adding spans to the sketch, so a
        query after a load finds its copy current (ADR 0043), and a count asked during a
        load (which takes the copy, ADR 0064) keeps it current behind ingest (ADR 0062)."""
        with self._lock:
            wanted = set(self._projects)
        version = self._version()
        stale = [
            p
            for p in sorted(wanted)
            if (held := self._projects.get(p)) is None or held.version != version
        ]
        for project in stale:
            self._project(query, project)
        return len(stale)

    def is_current(self, project: str) -> bool:
        """Whether the project's copy is held at the guard's version now."""
        held = self._projects.get(project)
        return held is not None and held.version == self._version()

    def newest_slot(
        self,
        query: Query,
        project: str,
        end: datetime | None,
        need: int,
        backlog: tuple[I64, I64] | None = None,
    ) -> int | None:
        """`newest.bound_sql`'s slot for a listing of the project's spans: the newest slot
        ``s`` such that the whole slots from ``s`` up to the one holding ``end`` hold at
        least ``need`` spans (None: no such slot). ``backlog``: the slots and span counts of
        the committed spans the sketch lacks yet (`backlog_slots`), counted too: right after
        a load they are the newest spans (ADR 0055). A span counted twice (the sketch took
        it in meanwhile) only moves the bound later, and a page that the bound leaves short
        is asked again without it (ADR 0044).

        A held copy counts even when the sketch moved past it (ADR 0062): the spans the
        sketch took in since are no longer in the backlog, so they are missed, which only
        moves the bound earlier (the page reads more rows, and is exact). The summaries'
        thread takes the copy again after adding them; a query takes a copy only when none
        is held. Right after a load, three pages in a row each took it again (3-6 ms)."""
        held = self._projects.get(project)
        p = held if held is not None else self._project(query, project)
        ends, totals = p.every.slots, p.every.slot_n
        if backlog is not None and len(backlog[0]):
            k = int(np.searchsorted(ends, backlog[0][0], side="left"))  # the tail they touch
            slots, where = np.unique(np.concatenate([ends[k:], backlog[0]]), return_inverse=True)
            counts = np.bincount(
                where.reshape(-1), weights=np.concatenate([totals[k:], backlog[1]])
            )
            ends = np.concatenate([ends[:k], slots]).astype(np.int64)
            totals = np.concatenate([totals[:k], counts.astype(np.int64)])
        stop = (
            len(ends)
            if end is None
            else int(np.searchsorted(ends, sketch.slot_of(end), side="left"))
        )
        if stop == 0:
            return None
        cum = np.cumsum(totals[:stop][::-1])
        i = int(np.searchsorted(cum, need, side="left"))
        return None if i >= len(cum) else int(ends[stop - 1 - i])

    def frame(
        self,
        query: Query,
        q: MetricQuery,
        p: sketch.Plan,
        version: int | None = None,
        backlog: pa.Table | None = None,
        edges: EdgeState | None = None,
        snapshot: bool = False,
    ) -> MetricFrame:
        """The frame of `sketch.plan`'s statement for ``q`` (``p``: its plan or
        `sketch.shape`), from `_rows`; an unbucketed quantile from its per-bin counts in
        numpy (`sketch.frame_of_bins`), without a row per bin."""
        got = self._rows(query, q, version, backlog, edges, snapshot)
        return (
            sketch.frame(q, p, got) if isinstance(got, list) else sketch.frame_of_bins(q, p, *got)
        )

    def _rows(
        self,
        query: Query,
        q: MetricQuery,
        version: int | None = None,
        backlog: pa.Table | None = None,
        edges: EdgeState | None = None,
        snapshot: bool = False,
    ) -> Rows | tuple[I64, I64]:
        """The rows of `sketch.plan`'s statement for ``q`` (a span-sketch plan, see
        `answers`): ``(bucket number or None, bin or None, n)`` ordered by both, or for an
        unbucketed quantile its distinct bins and their counts as arrays; with
        ``version``, of the sketch at that version (see `_project`), and with ``backlog``
        (the committed spans that sketch lacks, `SummaryUpkeep.pending` of the same quiet
        moment), of the plan with those spans: they count in the whole slots and in the edge
        slots. ``edges``: the spans of that sketch (`EdgeSpans.state` of the same moment),
        which count the edge slots without a statement (ADR 0066); None: the edge statement
        reads them (and the backlog's) from the stored spans."""
        start, end = q.time.start, q.time.end
        lo = None if start is None else -(-(to_unix_us(start) + sketch.OFFSET_US) // sketch.SLOT_US)
        hi = None if end is None else sketch.slot_of(end)
        root = q.where.root_only
        edges_us: list[tuple[int, int]] = []
        if lo is not None and hi is not None and hi < lo:  # inside one slot: spans only
            lo = hi = None
            whole = False
            edges_us.append((to_unix_us(start), to_unix_us(end)))  # type: ignore[arg-type]
        else:
            whole = True
            if start is not None and lo is not None:
                edges_us.append((to_unix_us(start), _slot_start_us(lo)))
            if end is not None and hi is not None:
                edges_us.append((_slot_start_us(hi), to_unix_us(end)))
        needs_bins = any(m.quantile is not None for m in q.metrics)
        width = int(q.bucket.total_seconds()) if q.bucket is not None else None
        rows = self._project(query, q.project, version, snapshot) if whole else None
        sketch_rows = None if rows is None else (rows.roots if root else rows.every)
        pending = None if backlog is None else backlog_chunk(backlog, q.project)  # decoded once
        if edges is not None:
            edge = edges.edge_rows(
                q.project, edges_us, root=root, with_bin=needs_bins, pending=pending
            )
        else:
            edge = _edge_spans(query, q.project, root, edges_us, with_bin=needs_bins)
        if whole and pending is not None:  # one row per span
            more = _backlog_rows(pending, root, lo, hi, with_bin=needs_bins)
            edge = tuple(np.concatenate([a, b]) for a, b in zip(edge, more, strict=True))  # type: ignore[assignment]
        slots, bins, ns = [edge[0]], [edge[1]], [edge[2]]
        if sketch_rows is not None and needs_bins:
            keep = sketch_rows.window(lo, hi)
            if width is None:
                return _merge_bins(*sketch_rows.per_bin(keep), edge[1], edge[2])  # arrays
            slots.append(sketch_rows.slot[keep])
            bins.append(sketch_rows.bin[keep])
            ns.append(sketch_rows.n[keep])
        elif sketch_rows is not None:  # counts: one number a slot
            keep = sketch_rows.window(lo, hi, per_slot=True)
            slots.append(sketch_rows.slots[keep])
            bins.append(np.zeros(keep.stop - keep.start, dtype=np.int64))
            ns.append(sketch_rows.slot_n[keep])
        return _group(_cat(slots), _cat(bins), _cat(ns), width, needs_bins)


def _slot_start_us(s: int) -> int:
    return s * sketch.SLOT_US - sketch.OFFSET_US


def answers(q: MetricQuery) -> bool:
    """Whether `SketchCopy.frame` answers ``q``: `sketch.plan` would answer it from the span
    sketch (not the pair sketch)."""
    return span_plan(q) is not None


def span_plan(q: MetricQuery) -> sketch.Plan | None:
    """`sketch.shape` of ``q`` (its plan without the SQL, which the copy does not run) when
    `SketchCopy.frame` answers it, else None."""
    return sketch.shape(q) if q.where in (SpanFilter(), SpanFilter(root_only=True)) else None


def _edge_spans(
    query: Query, project: str, root: bool, edges: list[tuple[int, int]], *, with_bin: bool
) -> tuple[I64, I64, I64]:
    """Slot, bin (zeros unless ``with_bin``) and n (ones) of each stored span in the edge
    ranges (epoch microseconds), by one statement (ADR 0064).

    The spans are binned here rather than by a grouped statement (half the statement's
    time at 30k spans): `bin_of` is `sketch.BIN_SQL`'s expression with the same libm ``log``.
    """
    if not edges:
        return _none(), _none(), _none()
    cond = " OR ".join("(start_time >= ? AND start_time < ?)" for _ in edges)
    wanted = [f"{sketch.SLOT_SQL} AS slot"] + ["latency_ms"] * with_bin
    sql = (
        f"SELECT {', '.join(wanted)} FROM spans "
        f"WHERE project = ?{f' AND {sketch.ROOT_SQL}' * root} AND ({cond})"
    )
    cols = query(sql, [project, *(from_unix_us(t).replace(tzinfo=None) for e in edges for t in e)])
    slots = np.asarray(cols["slot"], dtype=np.int64)
    ones = np.ones(len(slots), dtype=np.int64)
    if not with_bin:
        return slots, np.zeros(len(slots), dtype=np.int64), ones
    return slots, bins_of(np.asarray(cols["latency_ms"], dtype=np.float64)), ones


def _none() -> I64:
    return np.zeros(0, dtype=np.int64)


def _backlog_rows(
    pending: Chunk, root: bool, lo: int | None, hi: int | None, *, with_bin: bool
) -> tuple[I64, I64, I64]:
    """Slot, bin (zeros unless ``with_bin``) and n (ones) of each of the project's spans in
    the backlog (``pending``, `edge_spans.backlog_chunk`; its root spans with ``root``) whose
    slot is in ``[lo, hi)`` (None: unbounded): the backlog's part of `sketch.plan`'s
    ``pending`` rows, one row per span."""
    slot = (pending.start + sketch.OFFSET_US) // sketch.SLOT_US
    keep = pending.root.copy() if root else np.ones(len(slot), dtype=bool)
    if lo is not None:
        keep &= slot >= lo
    if hi is not None:
        keep &= slot < hi
    where = np.flatnonzero(keep)
    bins = pending.sketch_bins()[where] if with_bin else np.zeros(len(where), dtype=np.int64)
    return slot[where], bins, np.ones(len(where), dtype=np.int64)


def _merge_bins(bins: I64, counts: I64, edge_bins: I64, edge_n: I64) -> tuple[I64, I64]:
    """An unbucketed answer's distinct bins, ascending, and their counts: the window's
    counts per bin plus the edge rows'."""
    if len(edge_bins):
        bins = np.concatenate([bins, edge_bins])
        counts = np.concatenate([counts, edge_n])
        uniq, inverse = np.unique(bins, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=counts, minlength=len(uniq))
        bins = uniq
    return bins.astype(np.int64), counts.astype(np.int64)


def _cat(parts: list[I64]) -> I64:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _group(slot: I64, bin_: I64, n: I64, width_s: int | None, needs_bins: bool) -> Rows:
    """Sum ``n`` per (bucket of the slot, bin), as the plan's outer GROUP BY does."""
    if not len(n):
        return []
    key = np.zeros(len(n), dtype=np.int64)
    if width_s is not None:
        w = width_s * 1_000_000
        key += ((slot * sketch.SLOT_US - sketch.OFFSET_US + bucket_offset(w)) // w) << _BIN_BITS
    if needs_bins:
        key += bin_ + _BIN_SHIFT
    uniq, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse, weights=n, minlength=len(uniq)).astype(np.int64)
    buckets = (uniq >> _BIN_BITS).tolist() if width_s is not None else [None] * len(uniq)
    bins = ((uniq & _BIN_MASK) - _BIN_SHIFT).tolist() if needs_bins else [None] * len(uniq)
    return list(zip(buckets, bins, sums.tolist(), strict=True))


# (bucket, bin) as one int64 key: a bin (ZERO_BIN = -1,000,000 up to ~2,000 for a latency of
# 10^17 ms) plus 2^20 fits 21 bits; hourly bucket numbers since year 1 stay below 2^25.
_BIN_BITS = 21
_BIN_SHIFT = 1 << 20
_BIN_MASK = (1 << _BIN_BITS) - 1
