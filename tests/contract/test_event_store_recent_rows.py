"""Newest pages from the rows held in memory (ADR 0067) are the statement's rows, or are not
answered.

`ListingEngine._newest_bounded` answers a plain newest-first page from `RecentRows` when
the held rows provably hold every row of it. These tests fail if such a page differs from
the statement's (every column, the order, ties), if a page that the held rows cannot answer
is answered anyway, or if the pages they can answer are not answered from them: after a
load, with spans in the summaries' backlog, after a delete, after a reopen (held from the
snapshot the summaries are built from) and with spans that arrive late.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_factories import make_span, stored_in_commits

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.spans import Span
from llmpulse.store.api import AttrEquals, SpanQuery, TimeRange
from llmpulse.store.events import purge, recent_rows
from llmpulse.store.events.duckdb import DuckDBEventStore

P = ProjectName("recent")
T0 = datetime(2026, 11, 2, 5, 4, 33, 250_001, tzinfo=UTC)


def _spans(n: int, seed: int, offset: int = 0, hours: float = 5) -> list[Span]:
    """Spans over ``hours`` (every field of `make_span` set), another project's among
    them, some sharing a start (ties broken by span id)."""
    rng = random.Random(seed)
    out: list[Span] = []
    for i in range(n):
        start = T0 + timedelta(microseconds=rng.randrange(int(hours * 3600 * 10**6)))
        if i % 13 == 0 and out:
            start = out[-1].start_time  # a tie
        out.append(
            replace(
                make_span(i + offset),
                span_id=SpanId(f"{rng.getrandbits(64):016x}"),
                project=P if i % 5 else ProjectName("other"),
                start_time=start,
                end_time=start + timedelta(milliseconds=rng.uniform(1, 900)),
            )
        )
    return out


def _store(path: Path | None, spans: list[Span]) -> DuckDBEventStore:
    s: DuckDBEventStore = stored_in_commits(spans, 250, path)
    return s


def _queries(seed: int) -> list[SpanQuery]:
    rng = random.Random(seed)
    out = [SpanQuery(P), SpanQuery(P, limit=7), SpanQuery(P, limit=500)]
    for _ in range(25):
        end = T0 + timedelta(seconds=rng.uniform(4 * 3600, 6 * 3600))
        start = rng.choice((None, None, end - timedelta(seconds=rng.uniform(1, 600))))
        out.append(SpanQuery(P, TimeRange(start, end), limit=rng.choice((1, 20, 100))))
    return out


def _pages_match(s: DuckDBEventStore, qs: list[SpanQuery]) -> int:
    """Every page equals the statement's; returns how many came from the held rows."""
    before = s.pages_held
    for q in qs:
        want = s._newest(s._query, q)
        assert s._newest_bounded(q) == want, q
    return s.pages_held - before


def test_a_newest_page_from_held_rows_is_the_statements() -> None:
    s = _store(None, _spans(3000, seed=1))
    try:
        qs = _queries(2)
        assert _pages_match(s, qs) == len(qs)  # every row of the project is held
    finally:
        s.close()


def test_rows_held_past_the_limit_leave_older_pages_to_the_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recent_rows, "KEEP_SPANS", 300)
    s = _store(None, sorted(_spans(3000, seed=3), key=lambda x: x.start_time))  # as they come
    try:
        rows = sum(t.num_rows for t in s.recent_rows._held[P])
        assert 300 <= rows < 300 + 250  # the last batches (each ~200 of the project's)
        qs = _queries(4)
        held = _pages_match(s, qs)
        assert 0 < held < len(qs)
        deep = SpanQuery(P, TimeRange(None, T0 + timedelta(hours=1)))  # older than held
        before = s.pages_held
        assert s._newest_bounded(deep) == s._newest(s._query, deep)
        assert s.pages_held == before
    finally:
        s.close()


def test_spans_in_the_backlog_and_late_spans_count(held: None) -> None:
    """Spans waiting in the summaries' backlog are counted from it; a late span (an old
    start) is held too and counted with the rest."""
    s = _store(None, _spans(2000, seed=5))
    try:
        newer = _spans(300, seed=6, offset=10_000, hours=0.2)
        newer = [replace(x, start_time=x.start_time + timedelta(hours=5)) for x in newer]
        late = _spans(40, seed=7, offset=20_000, hours=5)
        s.append_spans(newer)
        s.append_spans(late)
        assert s.summary_upkeep.pending() is not None
        qs = [*_queries(8), SpanQuery(P, TimeRange(None, T0 + timedelta(hours=5, minutes=5)))]
        assert _pages_match(s, qs) >= len(qs) - 3
    finally:
        s.close()


def test_a_delete_forgets_the_projects_rows() -> None:
    s = _store(None, _spans(2000, seed=9))
    try:
        gone = s.delete_spans(P, before=T0 + timedelta(hours=4, minutes=30))
        assert gone > 0
        assert P not in s.recent_rows._held
        before = s.pages_held
        assert s._newest_bounded(SpanQuery(P)) == s._newest(s._query, SpanQuery(P))
        assert s.pages_held == before  # none held: the statement
        s.append_spans(_spans(300, seed=10, offset=30_000, hours=0.1))
        s.catch_up()
        _pages_match(s, _queries(11))
    finally:
        s.close()


def test_a_reopened_store_holds_the_newest_rows_of_its_snapshot(tmp_path: Path) -> None:
    s = _store(tmp_path / "events.duckdb", _spans(3000, seed=12))
    s.close()
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        assert s.summary_upkeep.wait_built()
        held = sum(t.num_rows for t in s.recent_rows._held[P])
        assert held == min(recent_rows.KEEP_SPANS, 2400)
        qs = _queries(13)
        assert _pages_match(s, qs) >= len(qs) - 3
        newer = _spans(300, seed=20, offset=60_000, hours=0.2)  # committed after the fill
        s.append_spans([replace(x, start_time=x.start_time + timedelta(hours=5)) for x in newer])
        assert sum(t.num_rows for t in s.recent_rows._held[P]) == held + 240
        assert _pages_match(s, qs) >= len(qs) - 3
    finally:
        s.close()


def test_tiny_batches_are_joined_and_pages_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent_rows, "_MAX_TABLES", 4)
    s = _store(None, _spans(500, seed=14))
    try:
        more = sorted(_spans(30, seed=15, offset=40_000, hours=0.1), key=lambda x: x.start_time)
        for x in more:
            s.append_spans([replace(x, start_time=x.start_time + timedelta(hours=5))])
        assert len(s.recent_rows._held[P]) <= 4 + 1
        qs = _queries(16)
        assert _pages_match(s, qs) >= len(qs) - 3
    finally:
        s.close()


def test_past_the_total_budget_the_least_recent_project_holds_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = _store(None, _spans(1000, seed=17))
    try:
        sizes = {p: sum(t.nbytes for t in ts) for p, ts in s.recent_rows._held.items()}
        assert set(sizes) == {P, "other"}
        monkeypatch.setattr(recent_rows, "TOTAL_BYTES", sizes[P] + sizes["other"] // 2)
        s.append_spans([replace(x, project=P) for x in _spans(5, seed=18, offset=50_000)])
        assert "other" not in s.recent_rows._held  # it committed least recently
        assert P in s.recent_rows._held
        other = SpanQuery(ProjectName("other"))
        before = s.pages_held
        assert s._newest_bounded(other) == s._newest(s._query, other)
        assert s.pages_held == before
        _pages_match(s, _queries(19))
    finally:
        s.close()


REGIONS = ("eu", "us", "ap", "rare")


def _with_metadata(spans: list[Span], seed: int) -> list[Span]:
    """The spans with a region (``rare`` for few of them), a tier on some, none on a few."""
    rng = random.Random(seed)
    out = []
    for x in spans:
        roll = rng.random()
        if roll < 0.05:
            out.append(x)  # no metadata: NULL pairs
            continue
        region = "rare" if roll < 0.07 else rng.choice(REGIONS[:3])
        meta: dict[str, object] = {"region": region}
        if rng.random() < 0.5:
            meta["tier"] = rng.choice(("free", "pro"))
        out.append(replace(x, metadata=meta))
    return out


def _filtered(seed: int) -> list[SpanQuery]:
    rng = random.Random(seed)
    out = []
    for q in _queries(seed):
        region = rng.choice(REGIONS)
        attrs = [AttrEquals("metadata.region", region)]
        if rng.random() < 0.3:
            attrs.append(AttrEquals("metadata.tier", "pro"))
        out.append(replace(q, attributes=tuple(attrs)))
    return out


def test_a_metadata_page_from_held_rows_is_the_statements() -> None:
    """Pages filtered by metadata pairs (one or two, a rare value among them) equal the
    statement's; with every row held, all of them come from memory."""
    s = _store(None, _with_metadata(_spans(3000, seed=21), seed=22))
    try:
        qs = _filtered(23)
        assert _pages_match(s, qs) == len(qs)
    finally:
        s.close()


def test_a_metadata_page_older_than_the_held_rows_reads_the_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held rows answer a filtered page only down to the limit-th match they hold: a rare
    value with fewer matches among them, and no start, leaves the page to the statement."""
    monkeypatch.setattr(recent_rows, "KEEP_SPANS", 300)
    spans = sorted(_with_metadata(_spans(3000, seed=24), seed=25), key=lambda x: x.start_time)
    s = _store(None, spans)
    try:
        rare = SpanQuery(P, attributes=(AttrEquals("metadata.region", "rare"),), limit=20)
        common = replace(rare, attributes=(AttrEquals("metadata.region", "eu"),))
        before = s.pages_held
        assert s._newest_bounded(rare) == s._newest(s._query, rare)
        assert s.pages_held == before  # ~2 % of ~300 held rows: fewer than 21
        assert s._newest_bounded(common) == s._newest(s._query, common)
        assert s.pages_held == before + 1
        qs = _filtered(26)
        assert 0 < _pages_match(s, qs) < len(qs)
    finally:
        s.close()


def test_rows_whose_pairs_sql_derives_leave_metadata_pages_to_the_statement() -> None:
    """A batch whose metadata the pairs are not built for in Python (a nested control
    character) is held without pairs: plain pages still come from memory, filtered ones
    from the statement, and both equal it."""
    s = _store(None, _with_metadata(_spans(1000, seed=27), seed=28))
    try:
        odd = _spans(50, seed=29, offset=70_000, hours=0.1)
        odd = [
            replace(x, start_time=x.start_time + timedelta(hours=5),
                    metadata={"region": "eu", "note": {"x": "\x01"}})
            for x in odd
        ]  # fmt: skip
        s.append_spans(odd)
        s.catch_up()
        eu = SpanQuery(P, attributes=(AttrEquals("metadata.region", "eu"),))
        before = s.pages_held
        assert s._newest_bounded(eu) == s._newest(s._query, eu)
        assert len([r for r in s._newest(s._query, eu) if r[2] in {x.span_id for x in odd}])
        assert s.pages_held == before
        assert _pages_match(s, [SpanQuery(P)]) == 1
    finally:
        s.close()


def test_a_page_while_a_commit_writes_is_held_and_while_it_queues_is_not() -> None:
    """A commit writing its spans does not hold a held page back (it reads no stored span);
    a page asked while a commit queues its batch (the backlog and the held rows taking it)
    is the statement's, and so is one asked while the summaries change."""
    s = _store(None, _with_metadata(_spans(2000, seed=30), seed=31))
    try:
        qs = [SpanQuery(P), *_filtered(32)[:5]]
        with s.sketch_guard.changing(summaries=False):  # a commit writing its spans
            assert _pages_match(s, qs) == len(qs)
        asked: list[int] = []
        committed = s.recent_rows.committed

        def ask_meanwhile(batch: object) -> None:
            before = s.pages_held
            assert s._newest_bounded(qs[0]) == s._newest(s._query, qs[0])
            asked.append(s.pages_held - before)
            committed(batch)  # type: ignore[arg-type]

        s.recent_rows.committed = ask_meanwhile  # type: ignore[method-assign]
        newer = _spans(100, seed=33, offset=80_000, hours=0.1)
        s.append_spans([replace(x, start_time=x.start_time + timedelta(hours=5)) for x in newer])
        assert asked == [0]  # inside the queueing: the statement
        s.recent_rows.committed = committed  # type: ignore[method-assign]
        assert _pages_match(s, qs) == len(qs)  # after it: held, the new spans among them
        with s.sketch_guard.changing():
            assert _pages_match(s, qs[:1]) == 0
    finally:
        s.close()


def test_in_memory_pages_are_list_span_rows_and_read_nothing() -> None:
    """`list_span_rows_in_memory` (asked on the server's event loop) gives `list_span_rows`'
    page, cursor included, without reading the store; it leaves to `list_span_rows` what
    the held rows cannot answer, a limit it refuses, and any moment a change is in flight."""
    s = _store(None, _with_metadata(_spans(2000, seed=34), seed=35))
    try:
        small = [q for q in _filtered(36) if q.limit <= s.LOOP_LIMIT]
        qs = [SpanQuery(P), SpanQuery(P, limit=3), *small]
        want = [s.list_span_rows(q) for q in qs]

        def no_reads(*args: object, **kwargs: object) -> None:
            raise AssertionError("read the store")

        with pytest.MonkeyPatch.context() as m:
            m.setattr(s, "_read", no_reads)
            m.setattr(s, "_query", no_reads)
            got = [s.list_span_rows_in_memory(q) for q in qs]
        assert got == want
        assert got[1] is not None
        assert got[1].next_cursor is not None
        for other in (
            replace(qs[0], text="word"),  # a search
            replace(qs[0], cursor=got[1].next_cursor),  # a next page
            replace(qs[0], attributes=(AttrEquals("tag", "x"),)),  # not a metadata value
            replace(qs[0], limit=0),  # refused by `list_span_rows`
            replace(qs[0], limit=s.LOOP_LIMIT + 1),  # too long to hold the loop for
        ):
            assert s.list_span_rows_in_memory(other) is None
        with pytest.raises(InvalidInput):
            s.list_span_rows(replace(qs[0], limit=0))
        guard = s.sketch_guard
        with guard.changing(summaries=False):  # a commit writing its spans
            assert s.list_span_rows_in_memory(qs[0]) == want[0]
        with guard.changing(summaries=False), guard.queueing():
            assert s.list_span_rows_in_memory(qs[0]) is None
        with guard.changing():
            assert s.list_span_rows_in_memory(qs[0]) is None
    finally:
        s.close()
    assert s.list_span_rows_in_memory(qs[0]) is None  # closed: `list_span_rows` says so


def test_spans_committed_during_a_delete_and_deleted_by_it_are_not_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Commits go on between a delete's chunks; spans one of them holds and a later chunk
    deletes must not stay held (held rows must be stored rows, or a count can balance a
    deleted span against a stored one left out)."""
    s = _store(None, _spans(2000, seed=37))
    cut = T0 + timedelta(hours=4, minutes=30)
    late = [replace(x, project=P) for x in _spans(60, seed=38, offset=90_000, hours=4)]
    delete = purge.delete_spans

    def with_a_commit_meanwhile(*args: object, **kwargs: object) -> int:
        s.append_spans(late)  # committed and held during the delete, then deleted by it
        return delete(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(purge, "delete_spans", with_a_commit_meanwhile)
    try:
        assert s.delete_spans(P, before=cut) > 0
        stored = {r[0] for r in s._query("SELECT span_id FROM spans WHERE project = ?", [P])}
        held = {i for t in s.recent_rows._held.get(P, ()) for i in t.column("span_id").to_pylist()}
        assert held <= stored
        assert not stored & {x.span_id for x in late}
        _pages_match(s, _queries(39))
    finally:
        s.close()


def test_a_small_memory_limit_holds_fewer_rows_and_builds_the_summaries(tmp_path: Path) -> None:
    """Filling the held rows at the open reads them a few hundred at a time: a top-N over
    4,096 full rows of 8 kB (32 MB) failed the whole summaries' build at a 16 MB limit."""
    path = tmp_path / "events.duckdb"
    s = DuckDBEventStore(path, journal=False)
    rng = random.Random(40)
    for first in range(0, 5000, 1000):
        text = "".join(rng.choices("abcdefgh ", k=4000))
        s.append_spans([replace(make_span(i), input_value=text, output_value=text)
                        for i in range(first, first + 1000)])  # fmt: skip
    s.close()
    s = DuckDBEventStore(path, journal=False, memory_limit="16MB", search_index=False)
    try:
        assert s.summary_upkeep.wait_built()  # usable
        held = sum(t.num_rows for ts in s.recent_rows._held.values() for t in ts)
        assert 0 < held < 5000
        assert sum(t.nbytes for ts in s.recent_rows._held.values() for t in ts) <= (
            recent_rows.KEEP_BYTES + 256 * 9000
        )
        _pages_match(s, [SpanQuery(ProjectName("default"), limit=20)])
    finally:
        s.close()
