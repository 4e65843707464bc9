"""The term → block search index (ADR 0038) answers exactly as the plain scan does.

Planted spans lie over 40 five-minute blocks; each search is run with the index (fully
indexed, partly indexed, after deletes, compaction and journal replay) and with it switched
off (the plain ``search_text`` scan of ADR 0025), and both must list and count the same spans,
which are also checked against the spans planted for it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from store_factories import T0, make_span, span_id

from llmpulse.clock import to_unix_us
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Message, RetrievedDocument, Span, StatusCode
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.journal import SPANS, IngestJournal, journal_path
from llmpulse.store.events.search_scan import excerpt
from llmpulse.store.events.search_terms import block_of, probes, terms_of

P = ProjectName("default")
_SPAN_ID = SPAN_COLUMN_NAMES.index("span_id")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


def _at(n: int, **fields: object) -> Span:
    """Span ``n``, seven minutes after span ``n - 1`` (so in a block of its own)."""
    start = T0 + timedelta(minutes=7 * n)
    base = make_span(n, start_time=start, end_time=start + timedelta(milliseconds=40))
    return replace(base, **fields) if fields else base  # type: ignore[arg-type]


def _filler(n: int) -> Span:
    words = " ".join(WORDS[(n * 3 + k) % len(WORDS)] for k in range(5))
    return _at(n, input_value=f"common {words}", output_value=f"{words} common")


PLANTED: dict[int, dict[str, object]] = {
    3: {"input_value": "the zqxrare marker", "output_value": "Ends with alpha"},
    11: {"output_messages": (Message("assistant", "ZQXRARE in a message"),)},
    17: {"documents": (RetrievedDocument(id="d", content="see Llama-Guard/v2.1 docs"),)},
    21: {"input_value": "first field ends splitword", "output_value": "tailword opens"},
    25: {
        "status_code": StatusCode.ERROR,
        "exception_type": "TimeoutError",
        "exception_message": 'quote "100% off_" \\ done',
    },
    29: {"input_value": "Café Crème au lait", "output_value": "MiXeD CaSe Words"},
    33: {"input_value": "a quokka smiles", "output_value": "x.y.z and foo--bar"},
    # Long texts: an excerpt keeps 60 characters before the first match and 200 after.
    36: {"input_value": " ".join(WORDS * 12) + " ZQXLONG mid " + " ".join(WORDS * 12)},
    38: {"input_value": "ab zqxlong near the start " + "and then " * 60 + "zqxlong again"},
    # Letters DuckDB's lower() and Python's lower-case differently: a final capital sigma,
    # a capital I with a dot.
    39: {
        "input_value": "\u03a4\u03bf \u03a4\u0395\u039b\u039f\u03a3 end",
        "output_value": "\u0130STANBUL",
    },
}
N = 40


def _spans() -> list[Span]:
    out = []
    for n in range(N):
        s = _filler(n)
        if n in PLANTED:
            s = replace(s, **PLANTED[n])  # type: ignore[arg-type]
        out.append(s)
    return out


QUERIES: list[tuple[str, list[int] | None]] = [
    ("zqxrare", [3, 11]),  # rare, any case
    ("ZQXRARE", [3, 11]),
    ("qxra", [3, 11]),  # inside a term: a contains probe
    ("zqxrare marker", [3]),  # an exact term and a prefix
    ("he zqxrare", [3]),  # a suffix and an exact term
    ("common", None),  # in every span but the ones that replaced it
    ("alpha", None),
    ("llama-guard/v2.1", [17]),  # punctuation between terms
    ("guard/v2", [17]),
    ("/v2.", [17]),
    ("ends splitword\ntailword op", [21]),  # split across input and output
    ("splitwordtailword", []),
    ('"100% off_" \\', [25]),  # quotes, LIKE wildcards and backslashes are text
    ("timeouterror", [25]),
    ("café crème", [29]),  # non-ASCII letters are term letters
    ("CAFÉ", [29]),
    ("fé cr", [29]),
    ("mixed case", [29]),
    ("uokk", [33]),
    ("foo--bar", [33]),
    ("--", [33]),  # no term at all: every block is a candidate
    ("x.y.z", [33]),
    ("nowhere", []),
    ("zqxrare nowhere", []),
    ("zqxlong", [36, 38]),
    ("\u03a4\u0395\u039b\u039f\u03a3", [39]),  # TELOS in Greek capitals
    ("\u0130STANBUL", [39]),
]


def _listed(store: DuckDBEventStore, q: SpanQuery) -> list[str]:
    return [s.span_id for s in store.list_spans(q).items]


def _excerpts(store: DuckDBEventStore, q: SpanQuery) -> tuple[list[Any], list[str | None]]:
    """Summary rows of ``q`` with the excerpts of where each matched (ADR 0051)."""
    page = store.list_span_rows(replace(q, fields="summary"))
    assert page.excerpts is not None
    return page.items, page.excerpts


def _lower(store: DuckDBEventStore, text: str) -> str:
    """``text`` lower-cased as DuckDB does it (as the search compares)."""
    ((lowered,),) = store._query("SELECT lower(?)", [text])
    return str(lowered)


def _cut(store: DuckDBEventStore, rows: list[Any], text: str) -> list[str | None]:
    """The excerpts of ``rows`` cut from their whole stored search text."""
    text = _lower(store, text)
    out = []
    for row in rows:
        ((whole,),) = store._query(
            "SELECT search_text FROM spans WHERE span_id = ?", [row[_SPAN_ID]]
        )
        out.append(excerpt(whole, text))
    return out


def _agree(store: DuckDBEventStore, text: str, expected: list[int] | None, **kw: object) -> None:
    """Index and plain scan list (newest first, by latency) and count the same spans, and
    their summary rows show the same excerpts, those cut from each span's whole text."""
    for sort in ("time", "latency"):
        q = SpanQuery(project=P, text=text, limit=1000, sort=sort, **kw)  # type: ignore[arg-type]
        store.search_index.enabled = True
        with_index = (_listed(store, q), store.count_spans(q))
        summary = _excerpts(store, q)
        store.search_index.enabled = False
        plain = (_listed(store, q), store.count_spans(q))
        summary_plain = _excerpts(store, q)
        store.search_index.enabled = True
        assert with_index == plain, (text, sort)
        assert summary == summary_plain, (text, sort)
        assert [r[_SPAN_ID] for r in summary[0]] == with_index[0]
        assert summary[1] == _cut(store, summary[0], text)
        assert all(x is not None and _lower(store, text) in x for x in summary[1])
        if expected is not None and sort == "time" and not kw:
            assert sorted(with_index[0]) == sorted(span_id(n) for n in expected), text
            assert with_index[1] == len(expected)


@pytest.fixture
def store(tmp_path: Path) -> DuckDBEventStore:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    s.search_index.stop()  # the tests index by hand, so each state is the one intended
    s.append_spans(_spans())
    return s


def test_probes_mark_inner_terms_exact_and_edge_terms_partial() -> None:
    assert [(p.text, p.match) for p in probes("he zqxrare marker")] == [
        ("zqxrare", "exact"),
        ("marker", "prefix"),
        ("he", "suffix"),
    ]
    assert [(p.text, p.match) for p in probes("qxra")] == [("qxra", "contains")]
    assert probes(" -- ") == []
    assert terms_of("llama-guard/v2.1 café") == {"llama", "guard", "v2", "1", "café"}


@pytest.mark.parametrize(("text", "expected"), QUERIES)
def test_indexed_search_equals_the_scan(
    store: DuckDBEventStore, text: str, expected: list[int] | None
) -> None:
    store.search_index.drain()
    assert store.search_index.pending() == 0
    _agree(store, text, expected)
    store.close()


def test_the_index_narrows_a_rare_word_to_its_blocks(store: DuckDBEventStore) -> None:
    store.search_index.drain()
    c = store.search_index.candidates(store._query, P, "ZQXRARE", None, None)
    assert c.narrowed
    assert len(c.blocks) == 2  # spans 3 and 11, seven minutes apart from their neighbours
    store.close()


def test_the_store_stats_report_the_blocks_the_index_has_not_caught_up_with(
    store: DuckDBEventStore,
) -> None:
    """What `/metrics` shows as ``llmpulse_search_index_pending_blocks``."""
    assert store.stats().extra["search_pending_blocks"] == N  # each span in a block of its own
    store.search_index.drain()
    assert store.stats().extra["search_pending_blocks"] == 0
    store.append_spans([_at(N + 1), replace(_at(5), span_id=span_id(900))])  # new + old block
    assert store.stats().extra["search_pending_blocks"] == 2
    store.close()


def test_unindexed_spans_are_found_through_the_dirty_tail(store: DuckDBEventStore) -> None:
    store.search_index.drain()
    late = [
        _at(N + 1, input_value="zqxrare arrives late"),
        # a late span in an old, indexed block
        replace(_at(5, input_value="zqxrare backfilled"), span_id=span_id(900)),
    ]
    store.append_spans(late)
    assert store.search_index.pending() == 2
    _agree(store, "zqxrare", [3, 11, N + 1, 900])
    store.search_index.drain()
    _agree(store, "zqxrare", [3, 11, N + 1, 900])
    store.close()


def test_a_time_range_and_filters_apply_as_in_the_scan(store: DuckDBEventStore) -> None:
    store.search_index.drain()
    window = TimeRange(start=T0 + timedelta(minutes=7 * 10), end=T0 + timedelta(minutes=7 * 30))
    for text, _ in QUERIES:
        _agree(store, text, None, time=window)
        _agree(store, text, None, status=StatusCode.ERROR)
    store.close()


def test_cursor_pages_through_the_index_as_through_the_scan(store: DuckDBEventStore) -> None:
    store.search_index.drain()
    walks = []
    for enabled in (True, False):
        store.search_index.enabled = enabled
        seen: list[str] = []
        cursor = None
        while True:
            page = store.list_spans(SpanQuery(project=P, text="common", limit=4, cursor=cursor))
            seen.extend(s.span_id for s in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        walks.append(seen)
    # Spans 3, 21, 29, 33 and 39 had both fields that say "common" replaced.
    assert walks[0] == walks[1]
    assert sorted(walks[0]) == sorted(span_id(n) for n in range(N) if n not in (3, 21, 29, 33, 39))
    store.close()


def test_deleted_spans_are_gone_and_their_blocks_indexed_again(store: DuckDBEventStore) -> None:
    store.search_index.drain()
    cut = T0 + timedelta(minutes=7 * 5)  # spans 0-4 go, span 3 with them
    store.delete_spans(P, before=cut)
    assert store.search_index.pending() > 0  # the blocks that lost spans
    _agree(store, "zqxrare", [11])
    store.search_index.drain()
    _agree(store, "zqxrare", [11])
    gone = block_of(to_unix_us(cut))
    assert store._query("SELECT count(*) FROM search_blocks WHERE block < ?", [gone]) == [(0,)]
    assert store._query("SELECT count(*) FROM search_terms WHERE block < ?", [gone]) == [(0,)]
    store.close()


def test_compaction_leaves_an_index_rebuilt_behind_it(store: DuckDBEventStore) -> None:
    store.search_index.drain()
    store.append_spans([_at(N + 2, input_value="zqxrare after the index")])
    assert store.compact() is not None
    assert store.search_index.pending() == N + 1  # every block, each span in its own
    _agree(store, "zqxrare", [3, 11, N + 2])  # scanning the blocks not indexed yet
    store.search_index.drain()
    assert store._query("SELECT sum(spans) FROM search_blocks") == [(N + 1,)]
    _agree(store, "zqxrare", [3, 11, N + 2])
    _agree(store, "llama-guard/v2.1", [17])
    store.close()


def test_spans_put_back_by_journal_replay_are_found(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    store = DuckDBEventStore(db)
    store.search_index.stop()
    store.append_spans(_spans())
    store.search_index.drain()
    store.close()  # checkpoints: the index and spans are in the file
    lost = [_at(N + 3, input_value="zqxrare lost from the log"), _at(N + 4, output_value="x")]
    j = IngestJournal(journal_path(db), sync=False)  # committed, then the log was lost
    j.append(SPANS, spans_to_arrow(lost))
    j.close()
    store = DuckDBEventStore(db)
    store.search_index.stop()
    assert store.journal_restore is not None
    assert store.journal_restore.spans == 2
    _agree(store, "zqxrare", [3, 11, N + 3])  # indexed or dirty, whichever came first
    store.search_index.drain()
    assert store._query("SELECT sum(spans) FROM search_blocks") == [(N + 2,)]
    _agree(store, "zqxrare", [3, 11, N + 3])
    store.close()


def test_the_background_indexer_catches_up(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_spans(_spans())
        pause = threading.Event()
        for _ in range(200):  # the indexer waits SETTLE_S after the last append
            if not store.search_index.pending():
                break
            pause.wait(0.05)
        assert store.search_index.pending() == 0
        _agree(store, "zqxrare", [3, 11])
    finally:
        store.close()


def test_a_count_stops_at_its_bound(store: DuckDBEventStore) -> None:
    store.search_index.drain()
    q = SpanQuery(project=P, text="common")
    assert store.count_spans(q) == N - 5
    assert store.count_spans(q, at_most=5) == 5
    assert store.count_spans(q, at_most=1000) == N - 5
    store.close()


def test_a_backup_carries_the_index(store: DuckDBEventStore, tmp_path: Path) -> None:
    store.search_index.drain()
    ((terms,),) = store._query("SELECT count(*) FROM search_terms")
    assert store.backup_to(tmp_path / "backup.duckdb") == N
    store.close()
    plain = DuckDBEventStore(tmp_path / "backup.duckdb", search_index=False)
    assert plain._query("SELECT count(*) FROM search_terms") == [(terms,)]  # it came along
    plain.close()
    copy = DuckDBEventStore(tmp_path / "backup.duckdb")
    try:
        copy.search_index.stop()
        assert copy.search_index.pending() == 0  # consistent with the spans: nothing to redo
        _agree(copy, "zqxrare", [3, 11])
        _agree(copy, "llama-guard/v2.1", [17])
    finally:
        copy.close()


def test_spans_before_1970_are_indexed_in_their_blocks(store: DuckDBEventStore) -> None:
    early = [
        replace(_at(N + 5, input_value="zqxrare in 1969"), start_time=T0.replace(year=1969)),
        replace(
            _at(N + 6, input_value="zqxrare at year one"),
            start_time=T0.replace(year=1, month=1, day=1, hour=0, minute=0),
        ),
    ]
    store.append_spans([replace(s, end_time=s.start_time + timedelta(seconds=1)) for s in early])
    store.search_index.drain()
    _agree(store, "zqxrare", [3, 11, N + 5, N + 6])
    store.close()
