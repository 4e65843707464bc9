"""Span counts per 10-minute slot and promoted metadata pair (ADR 0036).

``pair_sketch`` holds, per (project, slot, pair), how many spans that started in the slot
carry the pair, a ``metadata_kv`` element (``key || chr(31) || value``, ADR 0011). It lives
beside the span sketch (ADR 0021) in the write connection's in-memory catalog and follows
the committed spans the same way, under the same `SketchGuard`. With it, the count of
``metadata.<key> = value`` over a window reads the whole slots from here and counts only the
spans of the two partial slots at the edges (`sketch.plan`), and the newest spans with the
pair are looked for only in the newest slots that hold enough of them (`newest`).

Committed batches append their counts, many batches at once behind ingest (ADR 0039; no
index to keep: an upsert into a keyed table cost most of the append's time); rows of one
(project, slot, pair) are summed every `COMPACT_ROWS` appended rows, and every reader sums
them anyway.

A key with more than `MAX_VALUES` distinct values in a project (an id, a free text) is not
counted: its rows would be as many as its spans. `PairKeys` remembers, per (project, key),
the values seen while there are few; a key that passes the limit is dropped (its rows
deleted) until the store is opened again, and its filters scan the spans as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import duckdb
import pyarrow as pa

from llmpulse.store.events.duckdb_open import transaction
from llmpulse.store.events.layout import METADATA_KV_SEP, METADATA_KV_SQL
from llmpulse.store.events.sketch import PAIR_TABLE, SLOT_SQL

TABLE = PAIR_TABLE
MAX_VALUES = 1000
"""Most distinct values of one metadata key in one project that the sketch counts."""
_KEY_SQL = "split_part(pair, chr(31), 1)"


class PairKeys:
    """Which metadata keys the sketch counts, per project (see module)."""

    def __init__(self, max_values: int = MAX_VALUES) -> None:
        """No key seen yet."""
        self._max = max_values
        self._values: dict[tuple[str, str], set[str] | None] = {}
        self._lock = threading.Lock()
        self.appended = 0
        """Rows appended to the table since it was last summed (`_compact`)."""

    def counted(self, project: str, key: str) -> bool:
        """Whether the sketch counts ``metadata.<key>`` in ``project``."""
        with self._lock:
            return self._values.get((project, key), set()) is not None

    def dropped(self) -> list[str]:
        """The dropped keys as ``project || chr(30) || key`` (for SQL)."""
        with self._lock:
            return [f"{p}\x1e{k}" for (p, k), v in self._values.items() if v is None]

    def observe(self, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Note (project, pair) rows; the (project, key)s this drops, newly."""
        newly: list[tuple[str, str]] = []
        with self._lock:
            for project, pair in rows:
                key, _, value = pair.partition(METADATA_KV_SEP)
                values = self._values.setdefault((project, key), set())
                if values is None:
                    continue
                values.add(value)
                if len(values) > self._max:
                    self._values[(project, key)] = None
                    newly.append((project, key))
        return newly

    @property
    def max_values(self) -> int:
        """Most values of one key that are counted."""
        return self._max

    def drop(self, project: str, key: str) -> None:
        """Stop counting ``metadata.<key>`` in ``project``."""
        with self._lock:
            self._values[(project, key)] = None

    def as_of_now(self) -> Callable[[str, str], bool]:
        """`counted` as it answers now, kept (a pinned read's keys, ADR 0050)."""
        with self._lock:
            dropped = frozenset(k for k, v in self._values.items() if v is None)
        return lambda project, key: (project, key) not in dropped

    def forget(self, project: str) -> None:
        """Start counting a project's keys afresh (before rebuilding its rows)."""
        with self._lock:
            for k in [k for k in self._values if k[0] == project]:
                del self._values[k]


def _grouped_pairs_sql(source: str) -> str:
    """(project, slot, pair, n) of the spans of ``source``: the pairs are derived once per
    distinct (project, slot, metadata text), with the insert's own expression
    (`layout.METADATA_KV_SQL`), not once per span."""
    grouped = (
        f"SELECT project, {SLOT_SQL} AS slot, metadata, count(*) AS n FROM {source} "
        "WHERE metadata IS NOT NULL GROUP BY ALL"
    )
    return (
        "SELECT project, slot, pair, sum(n)::BIGINT AS n FROM (SELECT project, slot, "
        f"unnest({METADATA_KV_SQL}) AS pair, n FROM ({grouped})) WHERE pair IS NOT NULL "
        "GROUP BY ALL"
    )


def _drop(con: duckdb.DuckDBPyConnection, project: str, key: str) -> None:
    con.execute(f"DELETE FROM {TABLE} WHERE project = ? AND {_KEY_SQL} = ?", [project, key])


def _create(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    con.execute(
        f"CREATE TABLE {TABLE} (project VARCHAR NOT NULL, slot BIGINT NOT NULL, "
        "pair VARCHAR NOT NULL, n BIGINT NOT NULL)"
    )


def build(con: duckdb.DuckDBPyConnection, keys: PairKeys) -> None:
    """Create the table and count the stored spans' pairs into it."""
    _create(con)
    _count_into(con, keys, "spans", [])


def _count_into(
    con: duckdb.DuckDBPyConnection, keys: PairKeys, source: str, params: list[object]
) -> None:
    """Count the pairs of ``source`` into the table, after marking the keys with too many
    values in it dropped (so that a key of ids never fills the table, even for a moment)."""
    pairs = _grouped_pairs_sql(source)
    wide = con.execute(
        f"SELECT project, {_KEY_SQL} AS k FROM (SELECT DISTINCT project, pair FROM ({pairs})) "
        "GROUP BY ALL HAVING count(*) > ?",
        [*params, keys.max_values],
    ).fetchall()
    for project, key in wide:
        keys.drop(str(project), str(key))
    counted = con.execute(
        f"INSERT INTO {TABLE} SELECT * FROM ({pairs}) "
        f"WHERE NOT list_contains(?::VARCHAR[], project || chr(30) || {_KEY_SQL}) "
        "RETURNING project, pair",
        [*params, keys.dropped()],
    ).fetchall()
    keys.observe(sorted({(str(p), str(pair)) for p, pair in counted}))


def rebuild_project(con: duckdb.DuckDBPyConnection, keys: PairKeys, project: str) -> None:
    """Recount one project's rows from its stored spans (after spans were deleted)."""
    con.execute(f"DELETE FROM {TABLE} WHERE project = ?", [project])
    keys.forget(project)
    _count_into(con, keys, "(SELECT * FROM spans WHERE project = ?)", [project])


def restore(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Create the table on a new connection with exported rows (the same spans)."""
    _create(con)
    con.from_arrow(rows).insert_into(TABLE)


_TEXTS_SQL = f"SELECT metadata, {METADATA_KV_SQL} FROM (SELECT unnest(?::VARCHAR[]) AS metadata)"
_CACHE_SIZE = 4096


class PairsOfText:
    """The pairs of a metadata JSON text, derived by DuckDB with the insert's own expression
    (`layout.METADATA_KV_SQL`) once per text and remembered: a stream of spans repeats a
    few metadata texts, so most batches need no derivation at all."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        """An empty memory of at most ``size`` texts."""
        self._size = size
        self._pairs: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def of(self, con: duckdb.DuckDBPyConnection, texts: list[str]) -> dict[str, tuple[str, ...]]:
        """The pairs of every text (under the store's write lock)."""
        missing = [t for t in texts if t not in self._pairs]
        if missing:
            for text, pairs in con.execute(_TEXTS_SQL, [missing]).fetchall():
                self._pairs[str(text)] = tuple(str(p) for p in pairs or () if p is not None)
        out = {t: self._pairs[t] for t in texts}
        for t in texts:
            self._pairs.move_to_end(t)
        while len(self._pairs) > self._size:
            self._pairs.popitem(last=False)
        return out


def _batch_counts(
    con: duckdb.DuckDBPyConnection, texts: PairsOfText, batch: pa.Table
) -> dict[tuple[str, int, str], int]:
    """(project, slot, pair) → spans of the batch (Arrow, the logical span columns).

    Grouped by DuckDB, not by pyarrow (whose `Table.group_by` and expression filters import
    pandas into the server: `codec.skip_pandas_probe`)."""
    pair_batch = batch  # noqa: F841 - DuckDB's replacement scan reads it by name
    groups = con.execute(
        f"SELECT project, {SLOT_SQL} AS slot, metadata, count(*) AS n FROM pair_batch "
        "WHERE metadata IS NOT NULL GROUP BY ALL"
    ).fetchall()
    pairs = texts.of(con, sorted({str(m) for _, _, m, _ in groups}))
    counts: dict[tuple[str, int, str], int] = {}
    for project, slot, metadata, n in groups:
        for pair in pairs[str(metadata)]:
            key = (str(project), int(slot), pair)
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def add(
    con: duckdb.DuckDBPyConnection, keys: PairKeys, texts: PairsOfText, batch: pa.Table
) -> None:
    """Add the pairs of a committed batch of spans (Arrow, the logical span columns).

    The batch is grouped by (project, slot, metadata text) in DuckDB, the texts' pairs come
    from ``texts``, and one upsert adds the counts of the keys still counted (a key that
    passes the limit here is dropped and its rows deleted first)."""
    counts = _batch_counts(con, texts, batch)
    for project, key in keys.observe(sorted({(p, pair) for p, _, pair in counts})):
        _drop(con, project, key)
    dropped = set(keys.dropped())
    kept = [
        (p, slot, pair, n)
        for (p, slot, pair), n in counts.items()
        if f"{p}\x1e{pair.partition(METADATA_KV_SEP)[0]}" not in dropped
    ]
    if not kept:
        return
    # From arrays of explicit types: `pa.table` of a dict imports pandas (to ask whether it
    # is a DataFrame), which the server keeps out (`codec.skip_pandas_probe`).
    types = (pa.string(), pa.int64(), pa.string(), pa.int64())
    rows = pa.Table.from_arrays(
        [pa.array([r[i] for r in kept], type=t) for i, t in enumerate(types)],
        names=["project", "slot", "pair", "n"],
    )
    con.register("pair_counts", rows)
    try:
        con.execute(f"INSERT INTO {TABLE} SELECT project, slot, pair, n FROM pair_counts")
    finally:
        con.unregister("pair_counts")
    keys.appended += len(kept)
    if keys.appended >= COMPACT_ROWS:
        _compact(con)
        keys.appended = 0


COMPACT_ROWS = 50_000
"""Rows appended to the table after which its rows are summed per (project, slot, pair)."""


def _compact(con: duckdb.DuckDBPyConnection) -> None:
    """Sum the table's rows per (project, slot, pair), in one transaction (readers see the
    table before or after, with the same sums)."""
    with transaction(con):
        ((mark,),) = con.execute(f"SELECT coalesce(max(rowid) + 1, 0) FROM {TABLE}").fetchall()
        con.execute(
            f"INSERT INTO {TABLE} SELECT project, slot, pair, sum(n)::BIGINT FROM {TABLE} "
            "GROUP BY ALL"
        )
        con.execute(f"DELETE FROM {TABLE} WHERE rowid < ?", [mark])
