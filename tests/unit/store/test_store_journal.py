"""The ingest journal: framed records, torn tails, rollback, and reconcile at open."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from contract.store_factories import make_annotation, make_span
from llmpulse.store.events.codec import annotations_to_arrow, spans_to_arrow
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.journal import (
    ANNOTATIONS,
    SPANS,
    IngestJournal,
    journal_path,
    read_journal,
)


def _table(n: int) -> pa.Table:
    return pa.table({"i": list(range(n))})


def test_records_read_back_in_order(tmp_path: Path) -> None:
    j = IngestJournal(tmp_path / "j", sync=False)
    j.append(SPANS, _table(3))
    j.append(ANNOTATIONS, _table(1))
    j.close()
    got = read_journal(tmp_path / "j")
    assert [(k, t.num_rows) for k, t in got.records] == [(SPANS, 3), (ANNOTATIONS, 1)]
    assert got.damaged_bytes == 0


def test_reading_stops_at_a_torn_or_corrupted_record(tmp_path: Path) -> None:
    path = tmp_path / "j"
    j = IngestJournal(path, sync=False)
    j.append(SPANS, _table(3))
    first = j.size
    j.append(SPANS, _table(5))
    j.close()
    raw = bytearray(path.read_bytes())
    path.write_bytes(bytes(raw[:-7]))  # torn tail
    torn = read_journal(path)
    assert [t.num_rows for _, t in torn.records] == [3]
    assert torn.readable_bytes == first
    assert torn.damaged_bytes == len(raw) - 7 - first
    raw[first + 20] ^= 0xFF  # a flipped bit inside the second record's payload
    path.write_bytes(bytes(raw))
    assert [t.num_rows for _, t in read_journal(path).records] == [3]


def test_rollback_cuts_a_record_off_again(tmp_path: Path) -> None:
    j = IngestJournal(tmp_path / "j", sync=False)
    j.append(SPANS, _table(3))
    mark = j.append(SPANS, _table(4))
    j.rollback(mark)
    j.append(SPANS, _table(2))
    j.close()
    assert [t.num_rows for _, t in read_journal(tmp_path / "j").records] == [3, 2]


def test_store_reinserts_journalled_rows_it_lacks_and_only_those(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    spans = [make_span(i) for i in range(10)]
    annotations = [make_annotation(i) for i in range(3)]
    store = DuckDBEventStore(db)
    store.append_spans(spans[:6])
    store.close()  # a clean close checkpoints and empties the journal
    assert journal_path(db).stat().st_size == 0
    # A journal that holds rows the store has (0-5) and rows it lost (6-9, annotations).
    j = IngestJournal(journal_path(db), sync=False)
    j.append(SPANS, spans_to_arrow(spans[4:]))
    j.append(ANNOTATIONS, annotations_to_arrow(annotations))
    j.close()
    store = DuckDBEventStore(db)
    try:
        assert store.journal_restore is not None
        assert (store.journal_restore.spans, store.journal_restore.annotations) == (4, 3)
        assert store.stats().num_spans == 10  # 4 and 5 were not inserted twice
        assert store.stats().num_annotations == 3
        assert any("restored 4 spans and 3 annotations" in w for w in store.warnings())
    finally:
        store.close()
    reopened = DuckDBEventStore(db)
    try:
        assert reopened.journal_restore is None  # emptied by the checkpoint at close
        assert reopened.warnings() == []
    finally:
        reopened.close()


def test_journal_holds_what_was_committed_since_the_last_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    store = DuckDBEventStore(db)
    try:
        store.append_spans([make_span(i) for i in range(5)])
        store.append_spans([make_span(i) for i in range(5, 8)])
        assert [t.num_rows for _, t in read_journal(journal_path(db)).records] == [5, 3]
        store.checkpoint()
        assert read_journal(journal_path(db)).records == []
        store.append_spans([make_span(9)])
        assert [t.num_rows for _, t in read_journal(journal_path(db)).records] == [1]
    finally:
        store.close()


def test_a_journal_past_its_bound_is_emptied_by_a_checkpoint(tmp_path: Path) -> None:
    """Large appends go to the data file and leave DuckDB's log small, so its automatic
    checkpoint never empties the journal: the store checkpoints once the journal is large."""
    db = tmp_path / "events.duckdb"
    bound = 64 * 1024
    store = DuckDBEventStore(db, journal_max_bytes=bound)
    sizes = []
    try:
        for i in range(0, 3000, 300):
            store.append_spans([make_span(n) for n in range(i, i + 300)])
            sizes.append(journal_path(db).stat().st_size)
    finally:
        store.close()
    assert 0 in sizes  # emptied along the way
    assert max(sizes) < bound + max(b - a for a, b in zip([0, *sizes], sizes, strict=False))
    store = DuckDBEventStore(db)
    try:
        assert store.stats().num_spans == 3000  # every committed span is still there
    finally:
        store.close()
