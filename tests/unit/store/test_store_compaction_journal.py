"""Compaction together with the ingest journal and the retried-span filter (ADR 0018, 0014,
0019): the swap empties the journal, and both keep working on the new file."""

from __future__ import annotations

from pathlib import Path

from contract.store_factories import make_rag_span
from llmpulse.domain.spans import Span
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.journal import journal_path, read_journal


def _spans(first: int, n: int) -> list[Span]:
    return [make_rag_span(first + k) for k in range(n)]


def test_a_compaction_empties_the_journal_and_later_appends_are_journalled(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    for first in range(0, 600, 200):
        store.append_spans(_spans(first, 200))
    assert len(read_journal(journal_path(path)).records) == 3  # no checkpoint yet
    done = store.compact()
    assert done is not None
    assert done.num_spans == 600
    assert journal_path(path).stat().st_size == 0  # the new file holds every committed row
    store.append_spans(_spans(600, 50))
    records = read_journal(journal_path(path)).records
    assert len(records) == 1
    store.close()
    reopened = DuckDBEventStore(path)
    assert reopened.journal_restore is None or not reopened.journal_restore.messages()
    assert reopened.stats().num_spans == 650
    reopened.close()


def test_a_retried_span_sent_after_a_compaction_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    assert store.append_spans(_spans(0, 300)) == 300
    store.compact()
    assert store.append_spans(_spans(250, 100)) == 50  # 250-299 are retries of stored spans
    assert store.stats().num_spans == 350
    store.close()
