"""Every stored span's start, root flag and latency bin in numpy, so that a sketch answer reads
its window's two partial edge slots without a statement (ADR 0066).

A span-sketch answer (`sketch_copy`) sums the copy's whole 10-minute slots and, where the
window starts or ends inside a slot, counts the spans of that edge slot that fall in the
window. Those were read with one statement (ADR 0064): after an idle moment its fixed cost
alone is 1.5 ms or more on a 2-core machine, and at 1M spans an edge slot holds ~7,000 spans.
`EdgeSpans` holds what that statement read, for every span the sketch counts: per project,
chunks of three arrays sorted by start (epoch microseconds, int64; the sketch bin, int16
where every bin fits; the root flag), 11 bytes a span, and the root spans' starts and bins
again on their own (10 bytes a root span), which a root-span answer searches instead of
masking every span of its edge slots (ADR 0069).

It changes with the sketch, inside the same changes of the summaries (`summaries`): built from
the same snapshot behind the open, each applied backlog appended as a chunk (chunks of
similar size merged, so a project holds O(log n) of them), a project read again after a
delete. Each change replaces the `EdgeState` it publishes; a reader takes the state at the
quiet moment it pins (`Pinned.edges`), which is then exactly the sketch of that moment, and
adds the backlog's spans itself. A change that fails, or a store over `MAX_SPANS`, publishes
no state: the statement answers, as before.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.store.events import sketch
from llmpulse.store.events.arrow_numpy import arrow_column, codes, nulls
from llmpulse.store.events.sketch import bins_of

log = logging.getLogger(__name__)

I64 = npt.NDArray[np.int64]
Bins = npt.NDArray[Any]
Bools = npt.NDArray[np.bool_]

MAX_SPANS = 40_000_000
"""Above this many spans no state is kept (~440 MB, plus 10 bytes a root span): the edge
statement answers."""
_ZERO16 = np.iinfo(np.int16).min
"""`sketch.ZERO_BIN` in an int16 chunk (every other bin of a latency of 10^-250 to 10^280 ms
fits an int16)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Spans sorted by start: start (epoch microseconds), sketch bin, root flag; and the root
    spans' starts and bins on their own, so that a root-span answer searches only those."""

    start: I64
    bin: Bins
    root: Bools
    root_start: I64
    root_bin: Bins

    @classmethod
    def of(cls, start: I64, bin_: npt.NDArray[np.integer], root: Bools) -> Chunk:
        """A chunk of the spans in any order."""
        if len(start) > 1 and bool(np.any(start[1:] < start[:-1])):
            order = np.argsort(start, kind="stable")
            start, bin_, root = start[order], bin_[order], root[order]
        return cls.of_sorted(start.astype(np.int64, copy=False), _narrow(bin_), root)

    @classmethod
    def of_sorted(cls, start: I64, bin_: Bins, root: Bools) -> Chunk:
        """A chunk of spans already sorted by start, their bins already narrowed."""
        root = root.astype(bool, copy=False)
        return cls(start, bin_, root, start[root], bin_[root])

    def __len__(self) -> int:
        return len(self.start)

    def sketch_bins(self) -> I64:
        """The spans' bins as `sketch` numbers them."""
        return _wide(self.bin)

    def merged(self, other: Chunk) -> Chunk:
        """Both chunks' spans in one chunk, in linear time (both are sorted)."""
        at = np.searchsorted(self.start, other.start, side="right") + np.arange(len(other))
        mine = np.ones(len(self) + len(other), dtype=bool)
        mine[at] = False
        start = np.empty(len(mine), dtype=np.int64)
        start[mine], start[at] = self.start, other.start
        wide = np.result_type(self.bin, other.bin)
        bin_ = np.empty(len(mine), dtype=wide)
        bin_[mine], bin_[at] = _as(self.bin, wide), _as(other.bin, wide)
        root = np.empty(len(mine), dtype=bool)
        root[mine], root[at] = self.root, other.root
        return Chunk.of_sorted(start, bin_, root)


def _narrow(bins: npt.NDArray[np.integer]) -> Bins:
    """Bins as int16 (`sketch.ZERO_BIN` as `_ZERO16`) when every one fits, else int32."""
    b = np.asarray(bins, dtype=np.int64)
    zero = b == sketch.ZERO_BIN
    rest = b[~zero]
    if len(rest) and (rest.min() <= _ZERO16 or rest.max() > np.iinfo(np.int16).max):
        return b.astype(np.int32)
    return np.where(zero, _ZERO16, b).astype(np.int16)


def _as(bins: Bins, dtype: np.dtype[Any]) -> Bins:
    """Chunk bins in ``dtype`` (an int16 chunk's `_ZERO16` as `sketch.ZERO_BIN` in int32)."""
    return bins if bins.dtype == dtype else _wide(bins).astype(dtype)


def _wide(bins: Bins) -> I64:
    """Chunk bins back as `sketch` bins."""
    b = bins.astype(np.int64)
    if bins.dtype == np.int16:
        b[bins == _ZERO16] = sketch.ZERO_BIN
    return b


def _appended(chunks: tuple[Chunk, ...], new: Chunk) -> tuple[Chunk, ...]:
    """``chunks`` with ``new`` after them, the newest merged while the one before is at most
    twice its size (a binary counter's carries: O(log n) chunks, each span merged O(log n)
    times, a large chunk rarely, under the writer's lock)."""
    out = [*chunks, new]
    while len(out) > 1 and len(out[-2]) <= 2 * len(out[-1]):
        last = out.pop()
        out[-1] = out[-1].merged(last)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class EdgeState:
    """The spans the sketch counts at one moment, per project (a project not here has none)."""

    projects: Mapping[str, tuple[Chunk, ...]] = field(default_factory=dict)
    spans: int = 0

    def edge_rows(
        self,
        project: str,
        ranges: Sequence[tuple[int, int]],
        *,
        root: bool,
        with_bin: bool,
        pending: Chunk | None = None,
    ) -> tuple[I64, I64, I64]:
        """``(slot, bin, n)`` rows counting the project's spans (root spans with ``root``)
        that start in each ``[lo, hi)`` of ``ranges`` (epoch microseconds, each inside one
        slot), in this state and in ``pending`` (the project's committed spans the sketch
        lacks yet, `backlog_chunk`); bin 0 unless ``with_bin``. Only the rows with spans."""
        chunks = list(self.projects.get(project, ()))
        if pending is not None:
            chunks.append(pending)
        slots, bins, ns = [], [], []
        for lo, hi in ranges:
            slot = (lo + sketch.OFFSET_US) // sketch.SLOT_US
            if with_bin:
                b, n = _count(_cat([_bins_in(c, lo, hi, root) for c in chunks]))
            else:
                total = sum(_count_in(c, lo, hi, root) for c in chunks)
                b = np.zeros(1 if total else 0, np.int64)
                n = np.full(len(b), total, dtype=np.int64)
            slots.append(np.full(len(b), slot, dtype=np.int64))
            bins.append(b)
            ns.append(n.astype(np.int64))
        return _cat(slots), _cat(bins), _cat(ns)


def _range(starts: I64, lo: int, hi: int) -> tuple[int, int]:
    """The positions of the sorted ``starts`` in ``[lo, hi)``."""
    i0, i1 = np.searchsorted(starts, (lo, hi), side="left").tolist()
    return int(i0), int(i1)


def _bins_in(c: Chunk, lo: int, hi: int, root: bool) -> I64:
    """The bins of ``c``'s spans (its root spans with ``root``) that start in ``[lo, hi)``."""
    starts, bins = (c.root_start, c.root_bin) if root else (c.start, c.bin)
    i0, i1 = _range(starts, lo, hi)
    return _wide(bins[i0:i1])


def _count_in(c: Chunk, lo: int, hi: int, root: bool) -> int:
    """How many of ``c``'s spans (root spans with ``root``) start in ``[lo, hi)``."""
    i0, i1 = _range(c.root_start if root else c.start, lo, hi)
    return i1 - i0


def _count(bins: I64) -> tuple[I64, I64]:
    """Distinct bins, ascending, and how many times each occurs."""
    if not len(bins):
        return bins, bins
    zero = bins == sketch.ZERO_BIN
    rest = bins[~zero]
    out_b, out_n = [], []
    if zero.any():
        out_b.append(np.array([sketch.ZERO_BIN], np.int64))
        out_n.append(np.array([int(zero.sum())], np.int64))
    if len(rest):
        low = int(rest.min())
        counts = np.bincount(rest - low)
        present = np.flatnonzero(counts)
        out_b.append(present.astype(np.int64) + low)
        out_n.append(counts[present].astype(np.int64))
    return np.concatenate(out_b), np.concatenate(out_n)


def _cat(parts: list[I64]) -> I64:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


class _BacklogChunks:
    """`backlog_chunk`'s chunks of the last few backlogs, per backlog table and project: a
    backlog stays the same table from one commit or round to the next (`Backlog.pending`),
    and every in-memory answer asked meanwhile adds its spans (0.6 ms a read for 300 spans
    at 10M, ADR 0071)."""

    def __init__(self, tables: int) -> None:
        self._tables = tables
        self._held: OrderedDict[int, tuple[pa.Table, dict[str, Chunk | None]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, batch: pa.Table, project: str) -> Chunk | None:
        with self._lock:  # (keyed by identity: the table is held, so its id is not reused)
            held = self._held.get(id(batch))
            if held is not None and project in held[1]:
                self._held.move_to_end(id(batch))
                return held[1][project]
        chunk = _project_chunk(batch, project)
        with self._lock:
            held = self._held.get(id(batch))
            if held is None:
                held = self._held[id(batch)] = (batch, {})
                while len(self._held) > self._tables:
                    self._held.popitem(last=False)
            held[1][project] = chunk
        return chunk


_BACKLOG_CHUNKS = _BacklogChunks(4)


def backlog_chunk(batch: pa.Table, project: str) -> Chunk | None:
    """The project's spans of a batch (`summary_upkeep.KEPT_SCHEMA`) as a chunk; None when
    it has none. Taken once per table and project (`_BacklogChunks`): keep a table as it is."""
    return _BACKLOG_CHUNKS.get(batch, project)


def _project_chunk(batch: pa.Table, project: str) -> Chunk | None:
    index, known, names = codes(batch.column("project"))
    if project not in names:
        return None
    keep = (index == names.index(project)) & known
    return _chunk(batch, np.flatnonzero(keep))


def _chunk(batch: pa.Table, rows: I64) -> Chunk | None:
    if not len(rows):
        return None
    start, valid = arrow_column(pc.cast(batch.column("start_time"), pa.int64()))
    rows = rows[valid[rows]]  # (a span without a start is in no slot)
    latency, known = arrow_column(pc.cast(batch.column("latency_ms"), pa.float64()))
    lat = np.where(known[rows], latency[rows], np.nan)
    root = nulls(batch.column("parent_span_id"))[rows]
    return Chunk.of(start[rows].astype(np.int64), bins_of(lat), root)


_BUILD_SQL = (
    f"SELECT epoch_us(start_time) AS start, {sketch.BIN_SQL} AS bin, {sketch.ROOT_SQL} AS root "
    "FROM spans WHERE project = ? AND start_time IS NOT NULL ORDER BY start_time"
)


class EdgeSpans:
    """The published `EdgeState` of one store, changed only inside the summaries' changes."""

    def __init__(self, max_spans: int | None = None) -> None:
        """No state until `build`; none kept over ``max_spans`` spans (`MAX_SPANS`)."""
        self._max_spans = MAX_SPANS if max_spans is None else max_spans
        self._state: EdgeState | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> EdgeState | None:
        """The state of the last change (None: none kept, the statement answers)."""
        return self._state

    def drop(self) -> None:
        """Keep no state (the statement answers from now on)."""
        with self._lock:
            self._state = None

    def build(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Read every project's spans from the snapshot the sketch was just built from (its
        projects are the sketch's)."""
        projects = [
            r[0] for r in cur.execute(f"SELECT DISTINCT project FROM {sketch.TABLE}").fetchall()
        ]
        total = cur.execute(f"SELECT coalesce(sum(n), 0) FROM {sketch.TABLE}").fetchall()[0][0]
        if int(total) > self._max_spans:
            self.drop()
            return
        state = {p: _read(cur, p) for p in projects}
        with self._lock:
            self._state = EdgeState(state, int(total))

    def add(self, batch: pa.Table) -> None:
        """Append a batch just added to the sketch (its `KEPT_SCHEMA` columns)."""
        with self._lock:
            held = self._state
            if held is None:
                return
            try:
                projects = dict(held.projects)
                index, known, names = codes(batch.column("project"))
                for i, name in enumerate(names):
                    c = _chunk(batch, np.flatnonzero((index == i) & known))
                    if c is not None:
                        projects[name] = _appended(projects.get(name, ()), c)
                spans = held.spans + batch.num_rows
                self._state = EdgeState(projects, spans) if spans <= self._max_spans else None
            except (pa.ArrowException, KeyError, TypeError, ValueError, MemoryError):
                # the sketch took the batch: the statement answers from now on
                log.warning("keeping the edge slots' spans failed; a statement reads them")
                self._state = None

    def rebuild_project(self, con: duckdb.DuckDBPyConnection, project: str) -> None:
        """Read one project's spans again (after some were deleted), under the writer's lock."""
        with self._lock:
            held = self._state
            if held is None:
                return
            projects = dict(held.projects)
            gone = sum(len(c) for c in projects.pop(project, ()))
            chunk = _read(con, project)
            if chunk:
                projects[project] = chunk
            self._state = EdgeState(projects, held.spans - gone + sum(len(c) for c in chunk))


def _read(cur: duckdb.DuckDBPyConnection, project: str) -> tuple[Chunk, ...]:
    cols = cur.execute(_BUILD_SQL, [project]).fetchnumpy()
    start = np.asarray(cols["start"], dtype=np.int64)
    if not len(start):
        return ()
    root = np.asarray(cols["root"], dtype=bool)
    return (Chunk.of_sorted(start, _narrow(np.asarray(cols["bin"], dtype=np.int64)), root),)
