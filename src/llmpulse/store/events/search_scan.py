"""Searches through the index (ADR 0038): the span scan restricted to candidate blocks.

DuckDB evaluates ``contains(search_text, ?)`` on every row of a scan even when a time filter
in the same scan leaves few rows, so the restriction (`scoped`, ADR 0051) first gathers the
row ids and ``search_text`` of the candidate blocks (a materialized common table expression;
zonemaps of ``start_time`` find the blocks), keeps the rows that contain the text with an
`excerpt` around their first match, and only then reads those rows of the table by row id.
``spans`` stands for them, with the excerpt as their ``search_text``, for the unchanged
listing, sort and count SQL: the bulky columns of the other candidate rows are never read,
and a page of summary rows shows where each span matched without its texts. Newest-first
pages read the candidate blocks newest first in chunks that grow fourfold, and stop once the
page is full. When the candidates hold most spans (a common word), the plain scan answers:
DuckDB's top-N over ``contains`` is then as fast as anything the index could offer, and the
count is bounded instead (``at_most``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from llmpulse.clock import to_unix_us
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.duckdb_open import CATALOG
from llmpulse.store.events.listing import excerpted
from llmpulse.store.events.search_index import (
    COMMON_SHARE,
    Candidates,
    Query,
    SearchIndex,
    block_range,
)
from llmpulse.store.events.search_terms import BLOCK_US, SPAN_HASH_SQL, ranges, ranges_sql
from llmpulse.store.events.summary_row import SUMMARY_FIELDS

FIRST_CHUNK_SPANS = 20_000
"""Spans read by a newest-first page's first chunk; each next chunk reads four times more."""
MAX_RUNS = 512
"""More runs of consecutive candidate blocks than this: the restriction is not worth its SQL."""
PLAIN_SHARE = COMMON_SHARE
"""Candidates holding more than this share of the spans: scan without the restriction."""
EXCERPT_BEFORE = 60
"""Characters of ``search_text`` an excerpt keeps before the first match ..."""
EXCERPT_AFTER = 200
"""... and after it."""
EXCERPT_SQL = (
    f"substr(search_text, greatest(1, _at - {EXCERPT_BEFORE}), "
    f"{EXCERPT_BEFORE} + _length + {EXCERPT_AFTER})"
)
"""SQL: the part of a row's ``search_text`` that holds its `excerpt` (which the page cuts
from it), ``_at`` being where the text first occurs in it (from 1; 0: it does not, as
``contains`` would say) and ``_length`` its length."""
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


def scoped(
    query: Query,
    q: SpanQuery,
    blocks: Sequence[int],
    *,
    matches: bool,
    named_by: Candidates | None = None,
) -> Scope:
    """``query`` with ``spans`` standing for the rows of ``blocks`` of ``q.project`` that
    contain ``q.text``, each with its `excerpt` as ``search_text`` (which still contains the
    text, so the statement's own filter holds).

    Two steps in one statement: per row of the blocks, its row id and, when it contains the
    text, the part of its text that holds the excerpt (materialized: ``contains`` sees those
    rows alone, and only a match keeps text); then the table's rows of the blocks with the
    matches' row ids: DuckDB pushes the join's row ids into the scan, so only the vectors
    holding matches are decoded. Reading every column of every candidate row instead cost
    ~130 ms for a word in 40 spans of 1M. The row ids alone bound that scan (ADR 0056): the
    blocks' time ranges on it, an OR tested on every row the zone maps cannot skip, cost
    ~60 ms of a rare word's page at 1M. (ADR 0051 kept them after a 32 MB limit was exceeded
    without them while full rows were read this way; the join builds its table from the
    matches, and full rows no longer come this way.)

    Blocks the candidates ``named_by`` name a span of (``posted``, ADR 0056) are not
    scanned: their only possible match is that span (row id, `SPAN_HASH_SQL`), which the
    first step reads by row id instead. The statement checks that each of those rows still
    holds the span named (a checkpoint after a delete moves rows to other row ids) and
    fails otherwise; then the index is told those blocks (``moved``) and the statement runs
    again with them scanned.

    Only summary rows of a search ask so (``matches``: `listing.excerpted`); their narrow
    columns read little per match. Otherwise (a count, full rows) ``spans`` stands for every
    row of the blocks, materialized when the blocks form several time runs (one run is one
    time range, which the plain scan prunes as well, and a bounded count then stops early):
    full rows read by row id decode a whole vector of every bulky column per match, which
    under a 32 MB memory limit ran out of memory where reading the blocks' rows in order
    did not, and were no faster at 1M spans (177 against 153 ms for a rare word).
    """
    text = q.text or ""
    where, params = ranges_sql(ranges(blocks))
    if not matches:
        materialized = "MATERIALIZED " if len(ranges(blocks)) > 1 else ""
        prefix = (
            f"WITH spans AS {materialized}(SELECT * FROM {CATALOG}.main.spans "
            f"WHERE project = ? AND {where}) "
        )
        return _scope(query, q, prefix, [q.project, *params])
    posted = {} if named_by is None else named_by.posted
    named = {b: posted[b] for b in blocks if b in posted}
    rest = ranges(b for b in blocks if b not in named)
    scanned, scan_params = ranges_sql(rest)
    pairs = [named[b] for b in sorted(named)]
    head: list[Any] = []
    if pairs:
        rows = [r for r, _ in pairs]
        head += [q.project, text, text, rows, [h for _, h in pairs], rows]
    if pairs and not rest:  # every block named: the named rows are all there is to read
        prefix = f"WITH {_NAMED}spans AS ({_NAMED_SPANS}) "
    else:
        prefix = (
            f"WITH {_NAMED if pairs else ''}_candidates AS MATERIALIZED (SELECT _row, "
            f"CASE WHEN _at > 0 THEN {EXCERPT_SQL} END AS _excerpt FROM "
            f"(SELECT _row, search_text, strpos(search_text, lower(?)) AS _at, "
            f"length(lower(?)) AS _length FROM "
            f"(SELECT rowid AS _row, search_text FROM {CATALOG}.main.spans "
            f"WHERE project = ? AND {scanned}))), "
            "_hits AS MATERIALIZED "
            "(SELECT _row, _excerpt FROM _candidates WHERE _excerpt IS NOT NULL), "
            f"spans AS (SELECT s.* REPLACE (h._excerpt AS search_text) "
            f"FROM {CATALOG}.main.spans s JOIN _hits h ON s.rowid = h._row "
            f"WHERE s.project = ?{' UNION ALL ' + _NAMED_SPANS if pairs else ''}) "
        )
        head += [text, text, q.project, *scan_params, q.project]
    scope = _scope(query, q, prefix, head)
    if not pairs:
        return scope

    def run(sql: str, p: Sequence[Any]) -> Rows:
        try:
            return scope.query(sql, p)
        except duckdb.Error as exc:
            if MOVED not in str(exc):
                raise
        if named_by is not None and named_by.moved is not None:
            named_by.moved(sorted(named))
        return scoped(query, q, blocks, matches=True).query(sql, p)

    return Scope(run, q)


MOVED = "llmpulse: a span the search index names moved"
"""The error a scoped statement raises when a row the index names holds another span."""
_FIELD = {n: f"summary_row->>'$[{SUMMARY_FIELDS.index(n)}]'" for n in SUMMARY_FIELDS}
_CHECKED = ("project", "trace_id", "span_id", "start_time", "summary_row")
_NAMED = (
    "_named AS MATERIALIZED (SELECT _row, "
    f"CASE WHEN _bad THEN error('{MOVED}') WHEN _at > 0 THEN {EXCERPT_SQL} END AS _excerpt, "
    + ", ".join(f"CASE WHEN _bad THEN error('{MOVED}') ELSE {c} END AS {c}" for c in _CHECKED)
    + " FROM (SELECT _q._r AS _row, f.*, "
    "(f._hash IS DISTINCT FROM _q._h OR f.project IS DISTINCT FROM ?) AS _bad, "
    "strpos(f.search_text, lower(?)) AS _at, length(lower(?)) AS _length FROM "
    "(SELECT unnest(?::BIGINT[]) AS _r, unnest(?::UBIGINT[]) AS _h) AS _q LEFT JOIN "
    f"(SELECT *, {SPAN_HASH_SQL} AS _hash FROM "
    f"(SELECT _fr, search_text, summary_row, {_FIELD['project']} AS project, "
    f"{_FIELD['trace_id']} AS trace_id, {_FIELD['span_id']} AS span_id, "
    f"make_timestamp(({_FIELD['start_time']})::BIGINT) AS start_time FROM "
    "(SELECT s.rowid AS _fr, s.search_text, s.summary_row "
    f"FROM {CATALOG}.main.spans AS s JOIN (SELECT unnest(?::BIGINT[]) AS _r) AS _p "
    "ON s.rowid = _p._r))) AS f ON f._fr = _q._r)), "
)
"""SQL: the rows the index names, read by row id for their search text and summary row alone
(params: the project, the text twice, the row ids, the hashes of their spans, the row ids
again): each is checked to hold the span it names, from what its summary row holds of it,
and keeps its excerpt when it contains the text. The check is in the expression of every
value a statement may filter these rows on: DuckDB pushes a statement's filters (``project =
?``) into the expression, and a filter of its own would be dropped or run after them."""
_NAMED_SPANS = (
    "SELECT s.* REPLACE (n.project AS project, n.trace_id AS trace_id, "
    "n.span_id AS span_id, n.start_time AS start_time, n.summary_row AS summary_row, "
    f"n._excerpt AS search_text) FROM {CATALOG}.main.spans s "
    "JOIN (SELECT * FROM _named WHERE _excerpt IS NOT NULL) AS n ON s.rowid = n._row"
)
"""SQL: the named rows that match, as ``spans`` holds them: the columns the check read from
the summary row come from it, so a summary page reads no other column of these rows."""


def _scope(query: Query, q: SpanQuery, prefix: str, head: list[Any]) -> Scope:
    """``query`` with the common table expressions of ``prefix`` (params ``head``) first."""

    def run(sql: str, p: Sequence[Any]) -> Rows:
        if sql.startswith("WITH "):  # one WITH clause: ours first, then the statement's
            return query(prefix[:-1] + ", " + sql[len("WITH ") :], [*head, *p])
        return query(prefix + sql, [*head, *p])

    return Scope(run, q)


def excerpt(text: str | None, lowered: str) -> str | None:
    """The part of a lower-cased ``search_text`` around the first match of the lower-cased
    text ``lowered`` (up to `EXCERPT_BEFORE` characters before it and `EXCERPT_AFTER`
    after), as `EXCERPT_SQL` cuts it; None when it does not contain it. Cutting an excerpt
    again gives the same excerpt."""
    if text is None:
        return None
    at = text.find(lowered)
    if at < 0:
        return None
    start = max(0, at - EXCERPT_BEFORE)
    return text[start : at + len(lowered) + EXCERPT_AFTER]


def narrows(c: Candidates | None) -> bool:
    """Whether reading only the candidate blocks is worth it (else: the plain scan)."""
    if c is None or not c.narrowed or len(ranges(c.blocks)) > MAX_RUNS:
        return False
    return not (c.blocks and sum(c.spans) and _share(c) > PLAIN_SHARE)


def restricted(query: Query, q: SpanQuery, c: Candidates | None, *, matches: bool) -> Scope:
    """The scope of a search over its candidate blocks when that narrows the scan enough,
    else ``query`` and ``q`` as they are (``matches``: see `scoped`)."""
    if c is None or not narrows(c):
        return Scope(query, q)
    return scoped(query, q, c.blocks, matches=matches, named_by=c)


@dataclass(frozen=True, slots=True)
class IndexCount:
    """What the index tells of a search's count (ADR 0051)."""

    known: int
    """Matches in the blocks whose count the index knows and that lie inside the range."""
    rest: Candidates
    """The other candidate blocks, whose matches only a scan can count."""
    at_least: int
    """Matches the index vouches for (a lower bound of the count)."""


def index_count(q: SpanQuery, c: Candidates | None) -> IndexCount | None:
    """The count of ``q`` as far as the index knows it, or None when it knows nothing of it:
    ``q`` filters on more than its project, text and time range, or its text is not one
    term (`search_index.lone`)."""
    if c is None or c.matching is None or c.at_least is None or not _text_only(q):
        return None
    start = None if q.time.start is None else to_unix_us(q.time.start)
    end = None if q.time.end is None else to_unix_us(q.time.end)
    known, at_least = 0, 0
    rest: list[int] = []
    spans: list[int] = []
    for block, n, matching, least in zip(c.blocks, c.spans, c.matching, c.at_least, strict=True):
        inside = (start is None or block * BLOCK_US >= start) and (
            end is None or (block + 1) * BLOCK_US <= end
        )
        if inside:
            at_least += least
        if inside and matching is not None:
            known += matching
        else:
            rest.append(block)
            spans.append(n)
    # The rest narrows the scan when the whole did or it leaves blocks out: with every block
    # unindexed yet (each counts as no span in `narrows`), nothing is narrowed and the plain
    # bounded scan counts.
    narrowed = c.narrowed or len(rest) < len(c.blocks)
    kept = replace(c, blocks=rest, spans=spans, narrowed=narrowed, matching=None, at_least=None)
    return IndexCount(known, kept, at_least)


def _text_only(q: SpanQuery) -> bool:
    """Whether ``q`` filters on nothing but its project, text and time range."""
    plain = SpanQuery(project=q.project, text=q.text, time=q.time)
    return replace(q, limit=plain.limit, cursor=None, sort="time", descending=True) == replace(
        plain, fields=q.fields
    )


def _share(c: Candidates) -> float:
    """The share of a project's (indexed) spans in the candidate blocks, as far as known."""
    total = c.total_spans
    return sum(c.spans) / total if total else 0.0


def newest_rows(query: Query, q: SpanQuery, c: Candidates, page: Callable[[Scope], Rows]) -> Rows:
    """The rows of a newest-first page (``page`` asks for ``limit + 1`` rows of a scope),
    chunk by chunk of candidate blocks, newest first, until the page is full."""
    rows: Rows = []
    for blocks in _chunks(c):
        rows.extend(page(scoped(query, q, blocks, matches=excerpted(q), named_by=c)))
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
