"""The event store's span pages, counts and trace totals (`ListingEngine`).

Newest-first pages bounded by the summaries' per-slot counts (ADRs 0037, 0044), pages
sorted by a value (`listing`, ADR 0045), trace-sorted pages ranked from the traces' totals
or aggregated from the spans (`trace_sums`, `trace_sort`, ADR 0046), searches narrowed to
candidate blocks (`search_scan`), and the root rows' trace totals.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from dataclasses import replace
from typing import Any, TypeVar

import duckdb

from llmpulse.domain.ids import TraceId
from llmpulse.domain.spans import Span
from llmpulse.store.api import Page, SpanQuery, TraceTotals
from llmpulse.store.events import (
    listing,
    newest,
    search_scan,
    sketch,
    sketch_copy,
    trace_slots,
    trace_sort,
    trace_sums,
)
from llmpulse.store.events.codec import row_to_span
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.compiler import Where, add_cursor, compile_filters, encode_cursor
from llmpulse.store.events.duckdb_compact import CompactingEngine
from llmpulse.store.events.duckdb_dialect import DIALECT
from llmpulse.store.events.duckdb_faults import invalidated
from llmpulse.store.events.duckdb_open import CATALOG
from llmpulse.store.events.search_terms import lowered
from llmpulse.store.events.summary_upkeep import Moment, query_with

NEWEST_FIRST = "ORDER BY start_time DESC, span_id DESC"
FILTERED_FIRST = 4
"""A filtered trace page first ranks this many times its traces (and one), whatever their
roots, and keeps those whose roots pass (ADR 0052)."""
_R = TypeVar("_R")
_START = SPAN_COLUMN_NAMES.index("start_time")
_SPAN_ID = SPAN_COLUMN_NAMES.index("span_id")


class ListingEngine(CompactingEngine):
    """Span pages, span counts and trace totals over the DuckDB engine."""

    trace_pages_ranked = 0
    """Trace-sorted pages answered from the traces' totals (ADR 0046), not the spans."""
    trace_pages_narrow = 0
    """Trace-sorted pages ranked from the spans with the root rows' ids alone, their rows read
    by row id (ADR 0048)."""
    trace_totals_summed = 0
    """`trace_totals` calls answered from the traces' totals (ADR 0046), not the spans."""
    trace_pages_filtered = 0
    """Trace-sorted pages of views whose filters pick the roots, ranked from the traces'
    totals, the roots filtered (ADR 0052)."""
    search_counts_indexed = 0
    """Search counts the index answered, whole or but for the blocks it scanned (ADR 0051)."""

    def list_spans(self, q: SpanQuery) -> Page[Span]:
        """List spans matching ``q``, newest first, one page at a time.

        Raises:
            InvalidInput: a filter, the limit or the cursor is not acceptable.
        """
        page = self.list_span_rows(q)
        items = [row_to_span(r) for r in page.items]
        return Page(items, page.next_cursor, page.totals, page.excerpts)

    def list_span_rows(self, q: SpanQuery) -> Page[tuple[Any, ...]]:
        """`list_spans`'s page as rows of the span columns, not decoded (copies of a span
        stored twice dropped); summary rows of a search with their excerpts (ADR 0051).

        Raises:
            InvalidInput: a filter, the limit or the cursor is not acceptable.
        """
        page = self._span_rows(q)
        if not listing.excerpted(q):
            return page
        text = lowered(q.text or "", self._query)  # as the search compares
        excerpts = [search_scan.excerpt(r[-1], text) for r in page.items]
        return Page([r[:-1] for r in page.items], page.next_cursor, page.totals, excerpts)

    def _span_rows(self, q: SpanQuery) -> Page[tuple[Any, ...]]:
        """`list_span_rows` with the excerpted rows' search text still last."""
        columns = listing.span_columns(q)
        found = search_scan.candidates(self.search_index, self._query, q)
        if trace_sort.is_trace_sort(q) and found is None:
            fast = self._trace_page(q, columns)
            if fast is not None:
                return fast
        if trace_sort.is_trace_sort(q) or not listing.newest_first(q):
            scope = search_scan.restricted(self._query, q, found, matches=listing.excerpted(q))
            where = compile_filters(scope.q, DIALECT)
            if not trace_sort.is_trace_sort(q):
                rows, after = listing.sorted_rows(scope.query, scope.q, where, columns)
            else:
                roots = trace_sort.roots_query(scope.q)
                where = compile_filters(roots, DIALECT)
                listing.add_ranges(where, roots)
                if found is None:  # ranked narrow, then the page's rows by row id (ADR 0048)
                    ranked = trace_sort.ranked_roots(self._query, roots, where)
                    page = self._roots(q, ranked, columns)
                    if page is not None:
                        self.trace_pages_narrow += 1
                        return page
                rows, after = trace_sort.sorted_roots(scope.query, roots, where, columns)
            return Page(items=_listed(q, rows), next_cursor=after)
        if found is None or not search_scan.narrows(found):
            rows = self._newest_bounded(q)
        else:
            rows = search_scan.newest_rows(
                self._query, q, found, lambda scope: self._newest(scope.query, scope.q)
            )
        return _paged(q, rows)

    def list_span_rows_in_memory(self, q: SpanQuery) -> Page[tuple[Any, ...]] | None:
        """`list_span_rows`' page when the rows held in memory give it now (a newest page,
        plain or filtered by metadata values, ADRs 0067-0068), without I/O and without
        waiting (the server asks it on its event loop, saving the hops to worker threads);
        None otherwise (ask `list_span_rows`)."""
        pairs = newest.held_pairs(q)
        if (
            pairs is None
            or q.limit > self.LOOP_LIMIT
            or self._closed
            or not self.sketch_guard.usable
        ):
            return None
        rows = self._held_page(q, pairs, wait=False)
        if rows is None:
            return None
        self.pages_held += 1
        return _paged(q, rows)

    def _trace_page(self, q: SpanQuery, columns: str) -> Page[tuple[Any, ...]] | None:
        """A trace-sorted page of a plain view from the traces' totals (ADR 0046), or of a
        view whose filters pick the roots (`_filtered_trace_page`); None when they cannot
        answer it (a search, the summaries not usable, an odd trace)."""
        p = trace_sums.plan(q)
        if p is None:
            return self._filtered_trace_page(q, columns)
        if not self.sketch_guard.totals_usable:
            return None
        found = self._ranked(p, _roots_where(q))
        page = None if found is None else self._roots(q, found, columns)
        if page is not None:
            self.trace_pages_ranked += 1
        return page

    def _ranked(
        self, p: trace_sums.Plan, where: Where, roots: tuple[str, list[Any]] | None = None
    ) -> list[trace_sums.Candidate] | None:
        """The traces `trace_sums.page` ranks for ``p`` (only those whose root ``roots``
        selects, when given), as of one moment, with the roots that pass ``where`` (the
        view's root filters, `_roots_where`) of its traces with several roots (ADR 0073)."""

        def ranked() -> list[trace_sums.Candidate] | None:
            pending = self.summary_upkeep.pending()
            got = self._sums_read(lambda cur: trace_sums.page(cur, pending, p, roots))
            return None if got is None else trace_sort.join_several(self._query, p, got, where)

        return self.sketch_guard.read(ranked, commits=False)  # the page of that moment

    def _filtered_trace_page(self, q: SpanQuery, columns: str) -> Page[tuple[Any, ...]] | None:
        """A trace-sorted page whose filters pick the roots, from the traces' totals (ADR
        0052). First the totals rank `FILTERED_FIRST` times the page's traces whatever their
        roots, and those whose roots pass the filters are kept: every trace left out of that
        ranking ranks after those in it, so when more than a page of them pass (or the
        ranking held every trace) the first of them are the page, as for a filter most roots
        pass. Else the totals rank only the traces whose root rows pass (read from the spans
        in the same statement). None when the totals cannot answer (a search, the summaries
        not usable, an odd trace)."""
        p = trace_sums.plan(q, filtered=True)
        if p is None or not self.sketch_guard.totals_usable:
            return None
        where = _roots_where(q)
        ranked = FILTERED_FIRST * (q.limit + 1)
        found = self._ranked(replace(p, limit=ranked - 1), where)
        if found is None:
            return None
        passing: list[trace_sums.Candidate] = []
        located: dict[tuple[str, str], int] = {}
        checked = 0
        # The roots of a page and a quarter first (a filter most roots pass stops there:
        # locating 404 roots by start time read ~90 ms at 10M spans, 126 roots ~35 ms; one
        # few roots pass stops there too, and ranks only the passing traces).
        for end in ((q.limit + 1) * 5 // 4, len(found)):
            checked_part = trace_sort.passing_roots(self._query, found[checked:end], where)
            if checked_part is None:
                return None
            more, at = checked_part
            passing += more
            located.update(at)
            checked = max(checked, min(end, len(found)))
            if len(passing) > q.limit or len(passing) * len(found) <= q.limit * checked:
                break  # a page, or the rest would not hold one at this share
        roots_at: dict[tuple[str, str], int] | None = located
        whole = checked == len(found) < ranked  # every trace ranked, every root checked
        if len(passing) <= q.limit and not whole:  # too few pass: rank only those
            sql = f"SELECT trace_id FROM {CATALOG}.main.spans WHERE {where.sql()}"
            ranked_passing = self._ranked(p, where, (sql, list(where.params)))
            if ranked_passing is None:
                return None
            passing, roots_at = ranked_passing, None
        page = self._roots(q, passing, columns, roots_at)
        if page is not None:
            self.trace_pages_filtered += 1
        return page

    def _roots(
        self,
        q: SpanQuery,
        found: list[trace_sums.Candidate],
        columns: str,
        located: dict[tuple[str, str], int] | None = None,
    ) -> Page[tuple[Any, ...]] | None:
        """The root rows of the ranked traces ``found`` (`trace_sort.fetch_roots`), with
        their trace totals read beside them on a side thread: the page knows its traces
        before its rows, and the two reads overlap (~10 ms of a 1M-span page). ``located``:
        the roots' row ids by (trace id, span id), when read already. None when the spans do
        not hold those roots any more."""
        ids = [TraceId(c.trace_id) for c in found[: q.limit]]
        try:
            side = self._side_reads.submit(self.trace_totals, ids) if ids else None
        except RuntimeError:  # closing: the page's own read says so
            side = None
        page = None
        try:
            page = trace_sort.fetch_roots(self._query, q, found, columns, located)
        finally:
            if page is None and side is not None:  # raised, or the spans answer the page
                side.cancel()
        if page is None:
            return None
        try:
            totals = side.result() if side is not None else self.trace_totals(ids)
        except CancelledError:  # the store closed meanwhile: its own read says so
            totals = self.trace_totals(ids)
        return Page(items=_listed(q, page[0]), next_cursor=page[1], totals=totals)

    def _newest_bounded(self, q: SpanQuery) -> list[tuple[Any, ...]]:
        """`_newest` over every stored span, bounded by the summaries' per-slot counts
        (ADR 0037). No guarded read: a bounded page that comes back full is the exact answer
        whatever the counts were (`newest.full`), and one that does not is asked again
        without the bound (ADR 0044)."""
        pairs = newest.held_pairs(q)
        if pairs is not None and self.sketch_guard.usable:  # rows held in memory (ADR 0067)
            held = self._held_page(q, pairs)
            if held is not None:
                self.pages_held += 1
                return held
        bound = newest.bound_sql(q, self.pair_keys.counted)
        if bound is not None and self.sketch_guard.usable:
            if q.attributes:  # the pair sketch's slots
                slot = _first(self._query(*bound))
            else:  # the span sketch's, from its copy (ADR 0040), and the backlog's (0055)
                backlog = sketch_copy.backlog_slots(self.summary_upkeep.pending(), q.project)
                slot = self._sketch_copy.newest_slot(
                    self._numpy, q.project, q.time.end, q.limit + 1, backlog
                )
            if slot is not None:
                rows = self._newest(self._query, q, slot)
                if newest.full(rows, q.limit):
                    return rows
        return self._newest(self._query, q)

    pages_held = 0
    """Newest pages answered from the rows held in memory (`recent_rows`, ADR 0067)."""
    LOOP_LIMIT = 200
    """Largest page `list_span_rows_in_memory` answers: a page of 1,000 full rows made
    Python values would hold the event loop for several milliseconds."""

    def _held_page(
        self, q: SpanQuery, pairs: tuple[str, ...], *, wait: bool = True
    ) -> list[tuple[Any, ...]] | None:
        """`_newest`'s rows of a newest-first page (with the metadata ``pairs`` of
        `newest.held_pairs`) from `RecentRows`, read at a quiet moment of the summaries'
        guard (``wait``: for one to come, see `SketchGuard.read`); None when they do not
        hold every row of it."""

        def read(kept: Moment | None) -> list[tuple[Any, ...]] | None:
            m = self.summary_upkeep.moment(kept)
            if m.edges is None:
                return None
            return self.recent_rows.page(
                q.project, q.time.start, q.time.end, q.limit + 1, m.edges, m.pending, pairs
            )

        if not wait:  # (or the moment a round kept, while it runs, ADR 0071)
            return self.sketch_guard.read_memory(read)
        return self.sketch_guard.read(lambda: read(None), memory=True)  # a commit's write aside

    @functools.cached_property
    def _sketch_copy(self) -> sketch_copy.SketchCopy:
        return sketch_copy.SketchCopy(lambda: self.sketch_guard.sketch_version)

    def _after_summaries(self) -> None:
        """Take the sketch copies that queries asked for again, off the query path (a
        background read: it does not hold the search index back as a query would)."""
        self._sketch_copy.refresh(functools.partial(self._numpy, background=True))

    def _numpy(
        self, sql: str, params: Sequence[Any], *, background: bool = False
    ) -> dict[str, Any]:
        """The columns of one query's result as numpy arrays, on this thread's cursor
        (``background``: not marked as query activity)."""
        read = self._read_unmarked if background else self._read
        return read(lambda cur: cur.execute(sql, list(params)).fetchnumpy())

    def _newest(
        self,
        query: listing.Query,
        q: SpanQuery,
        slot: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """Up to ``q.limit + 1`` rows of ``q``, newest first (``spans`` as ``query`` has it);
        with ``slot``, only the rows that start in or after it (`newest.bound_sql`)."""
        where = compile_filters(q, DIALECT)
        listing.add_ranges(where, q)
        add_cursor(where, q.cursor)
        sql, params = where.sql(), list(where.params)
        if slot is not None:
            sql += " AND start_time >= ?"
            params.append(sketch.slot_start(slot))
        return query(
            f"SELECT {listing.span_columns(q)} FROM spans WHERE {sql} {NEWEST_FIRST} LIMIT ?",
            [*params, q.limit + 1],
        )

    def count_spans(self, q: SpanQuery, at_most: int | None = None) -> int:
        """How many spans match ``q``'s filters (its cursor and limit are ignored); for a
        trace sort, how many root rows (traces). ``at_most`` stops the count there."""
        if trace_sort.is_trace_sort(q):
            q = replace(trace_sort.roots_query(q), sort="time")
        found = search_scan.candidates(self.search_index, self._query, q)
        counted = search_scan.index_count(q, found)
        if counted is not None:  # a search for one term: the index counts (ADR 0051)
            if at_most is not None and counted.at_least >= at_most:
                self.search_counts_indexed += 1
                return at_most
            if not counted.rest.blocks:
                self.search_counts_indexed += 1
                return counted.known if at_most is None else min(counted.known, at_most)
            if search_scan.narrows(counted.rest):  # count the rest's matches alone
                self.search_counts_indexed += 1
                scope = search_scan.scoped(self._query, q, counted.rest.blocks, matches=False)
                bound = None if at_most is None else at_most - counted.known
                where = compile_filters(scope.q, DIALECT)
                return counted.known + listing.count_rows(scope.query, scope.q, where, bound)
        # Blocks the index names a span of are read at that span (ADR 0056): count the
        # matches then; else every row of the candidate blocks, which a bound stops early.
        named = found is not None and bool(found.posted)
        scope = search_scan.restricted(self._query, q, found, matches=named)
        where = compile_filters(scope.q, DIALECT)
        return listing.count_rows(scope.query, scope.q, where, at_most)

    def _sums_read(self, run: Callable[[duckdb.DuckDBPyConnection], _R]) -> _R | None:
        """``run`` on a reader's cursor; None when the traces' totals' database was
        invalidated meanwhile (a failed checkpoint of its file, which spoils the summaries:
        the spans answer)."""
        try:
            return self._read(run)
        except duckdb.Error as exc:
            if invalidated(exc):
                return None
            raise

    def trace_totals(self, trace_ids: Sequence[TraceId]) -> dict[str, TraceTotals]:
        """Per trace: total tokens, cost, error count and span count over all its spans.

        The traces' totals kept behind ingest answer (ADR 0046; a lookup of the traces' keys:
        ~10 ms at 3.3M traces). When they cannot (an id not hex, an odd trace), the spans
        are read between the first and last slot of the traces' (ADR 0035), while the
        summaries hold every committed span."""
        if not trace_ids:
            return {}
        ids = sorted(set(trace_ids))

        def summed() -> dict[str, TraceTotals] | None:
            pending = self.summary_upkeep.pending()
            return self._sums_read(lambda cur: trace_sums.totals(cur, pending, ids))

        kept = self.sketch_guard.read(summed, commits=False)  # the totals of that moment
        if kept is not None:
            self.trace_totals_summed += 1
            return kept

        def bounded() -> dict[str, TraceTotals]:
            pending = self.summary_upkeep.pending()  # the backlog's spans widen the bound
            sql, params = trace_slots.bounds_sql(pending is not None), [ids, ids]
            (row,) = self._read(lambda cur: query_with(cur, pending, sql, params))
            within = trace_slots.time_bounds(row)
            if within is None:
                return {}
            return listing.trace_totals(self._query, ids, within)

        answer = self.sketch_guard.read(bounded)
        return listing.trace_totals(self._query, ids) if answer is None else answer


def _roots_where(q: SpanQuery) -> Where:
    """The compiled filters of ``q``'s root rows (one per trace), ranges added."""
    roots = trace_sort.roots_query(q)
    where = compile_filters(roots, DIALECT)
    listing.add_ranges(where, roots)
    return where


def _paged(q: SpanQuery, rows: list[tuple[Any, ...]]) -> Page[tuple[Any, ...]]:
    """The page of ``q`` from up to ``q.limit + 1`` newest-first rows (one more: a next
    page, whose cursor the last row of this one gives)."""
    next_cursor = None
    if len(rows) > q.limit:
        rows = rows[: q.limit]
        next_cursor = encode_cursor(rows[-1][_START], rows[-1][_SPAN_ID])
    return Page(items=_listed(q, rows), next_cursor=next_cursor)


def _first(rows: list[tuple[Any, ...]]) -> int | None:
    return int(rows[0][0]) if rows else None


def _listed(q: SpanQuery, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A page's rows as listed: copies of a span stored twice dropped, summary rows finished
    (`listing.summary_rows`)."""
    unique = unique_rows(rows)
    return listing.summary_rows(unique) if q.fields == "summary" else unique


def unique_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows sorted on (start_time, span_id), copies of a span stored twice dropped (an
    exporter's retry after a lost response); copies sort next to each other."""
    out: list[tuple[Any, ...]] = []
    previous: tuple[Any, Any] | None = None
    for row in rows:
        key = (row[_START], row[_SPAN_ID])
        if key != previous:
            out.append(row)
            previous = key
    return out
