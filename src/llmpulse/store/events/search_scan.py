"""Searches through the index (ADR 0038): the span scan restricted to candidate blocks.

DuckDB evaluates ``contains(search_text, ?)`` on every row of a scan even when a time filter
in the same scan leaves few rows, so the restriction is a materialized common table
expression named ``spans`` (the rows of the candidate blocks, found through the zonemaps of
``start_time``) that the unchanged listing, sort and count SQL then reads (`scoped`):
``search_text`` still decides each span. Newest-first pages read the candidate blocks newest
first in chunks that grow fourfold, and stop once the page is full. When the candidates hold
most spans (a common word), the plain scan answers: DuckDB's top-N over ``contains`` is then
as fast as anything the index could offer, and the count is bounded instead (``at_most``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from llmpulse.clock import to_unix_us
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.duckdb_open import CATALOG
from llmpulse.store.events.search_index import Candidates, Query, SearchIndex, block_range
from llmpulse.store.events.search_terms import ranges, ranges_sql

FIRST_CHUNK_SPANS = 20_000
"""Spans read by a newest-first page's first chunk; each next chunk reads four times more."""
MAX_RUNS = 512
"""More runs of consecutive candidate blocks than this: the restriction is not worth its SQL."""
PLAIN_SHARE = 0.6
"""Candidates holding more than this share of the spans: scan without the restriction."""
Rows = list[tuple[Any, ...]]


def candidates(index: SearchIndex, query: Query, q: SpanQuery) -> Candidates | None:
    """The candidate blocks of a search, or None (no search, or the index is off)."""
    if q.text is None or not index.enabled:
        return None
    start = None if q.time.start is None else to_unix_us(q.time.start)
    end = None if q.time.end is None else to_unix_us(q.time.end)
    first, last = block_range(start, end)
    return index.candidates(query, q.project, q.text, first, last)


@dataclass(frozen=True, slots=True)
class Scope:
    """A search narrowed to some blocks: ``query`` runs SQL with ``spans`` standing for the
    rows of those blocks, and ``q`` is what the SQL must filter on (``search_text`` still
    decides each span)."""

    query: Query
    q: SpanQuery


def scoped(query: Query, q: SpanQuery, blocks: Sequence[int]) -> Scope:
    """``query`` with ``spans`` standing for the rows of ``blocks`` of ``q.project`` only.

    Materialized when the blocks form several runs: DuckDB then gathers the blocks' rows
    first (zonemaps of ``start_time`` find them) and ``contains`` sees those rows alone. One
    run of blocks is one time range, which the plain scan prunes as well.
    """
    runs = ranges(blocks)
    where, params = ranges_sql(runs)
    materialized = "MATERIALIZED " if len(runs) > 1 else ""
    prefix = (
        f"WITH spans AS {materialized}(SELECT * FROM {CATALOG}.main.spans "
        f"WHERE project = ? AND {where}) "
    )
    head: list[Any] = [q.project, *params]

    def run(sql: str, p: Sequence[Any]) -> Rows:
        if sql.startswith("WITH "):  # one WITH clause: ours first, then the statement's
            return query(prefix[:-1] + ", " + sql[len("WITH ") :], [*head, *p])
        return query(prefix + sql, [*head, *p])

    return Scope(run, q)


def narrows(c: Candidates | None) -> bool:
    """Whether reading only the candidate blocks is worth it (else: the plain scan)."""
    if c is None or not c.narrowed or len(ranges(c.blocks)) > MAX_RUNS:
        return False
    return not (c.blocks and sum(c.spans) and _share(c) > PLAIN_SHARE)


def restricted(query: Query, q: SpanQuery, c: Candidates | None) -> Scope:
    """The scope of a search over its candidate blocks when that narrows the scan enough,
    else ``query`` and ``q`` as they are."""
    if c is None or not narrows(c):
        return Scope(query, q)
    return scoped(query, q, c.blocks)


def _share(c: Candidates) -> float:
    """The share of a project's (indexed) spans in the candidate blocks, as far as known."""
    total = c.total_spans
    return sum(c.spans) / total if total else 0.0


def newest_rows(query: Query, q: SpanQuery, c: Candidates, page: Callable[[Scope], Rows]) -> Rows:
    """The rows of a newest-first page (``page`` asks for ``limit + 1`` rows of a scope),
    chunk by chunk of candidate blocks, newest first, until the page is full."""
    rows: Rows = []
    for blocks in _chunks(c):
        rows.extend(page(scoped(query, q, blocks)))
        if len(rows) > q.limit:
            break
    return rows[: q.limit + 1]


def _chunks(c: Candidates) -> Iterator[list[int]]:
    known = [n for n in c.spans if n]
    typical = sum(known) // len(known) if known else 1
    target, chunk, spans = FIRST_CHUNK_SPANS, list[int](), 0
    for block, n in zip(c.blocks, c.spans, strict=True):
        chunk.append(block)
        spans += n or typical
        if spans >= target or len(chunk) >= MAX_RUNS:
            yield chunk
            chunk, spans, target = [], 0, target * 4
    if chunk:
        yield chunk
