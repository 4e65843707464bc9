"""The backlog's spans are made a chunk once per backlog table (ADR 0071), never a stale one.

Every in-memory answer adds the summaries' backlog (`edge_spans.backlog_chunk`): 0.6 ms a
read for 300 spans at 10M, while the backlog holds a commit's spans. `Backlog.pending` now
gives the same table until the backlog changes, and the chunk is kept per table and project.
These tests fail if the work is done again for the same table, or if a table's chunk
answers for another table (a later backlog) or another project.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from llmpulse.store.events import edge_spans
from llmpulse.store.events.summary_upkeep import KEPT_SCHEMA, Backlog

US = 1_790_000_000_000_000


def _batch(starts: list[int], project: str = "p") -> pa.Table:
    n = len(starts)
    cols = {f.name: pa.nulls(n, f.type) for f in KEPT_SCHEMA}
    cols["project"] = pa.array([project] * n)
    cols["start_time"] = pa.array([US + s for s in starts], pa.timestamp("us"))
    cols["latency_ms"] = pa.array([float(s % 900 + 1) for s in starts])
    return pa.table(cols, schema=KEPT_SCHEMA)


def test_pending_is_the_same_table_until_the_backlog_changes() -> None:
    backlog = Backlog()
    assert backlog.pending() is None
    backlog.add(_batch([5, 1]), 0.0)
    first = backlog.pending()
    assert first is not None
    assert backlog.pending() is first
    backlog.add(_batch([9]), 0.1)
    second = backlog.pending()
    assert second is not first
    assert second is not None
    assert second.num_rows == 3
    backlog.drop(1)
    third = backlog.pending()
    assert third is not None
    assert third.num_rows == 1
    backlog.clear()
    assert backlog.pending() is None


def test_a_tables_chunk_is_made_once_and_is_that_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = edge_spans._project_chunk

    def counted(batch: pa.Table, project: str) -> edge_spans.Chunk | None:
        made.append(project)
        return real(batch, project)

    monkeypatch.setattr(edge_spans, "_project_chunk", counted)
    one = pa.concat_tables([_batch([30, 10, 20]), _batch([7], "q")])
    two = pa.concat_tables([_batch([40, 10]), _batch([8, 6], "q")])
    a = edge_spans.backlog_chunk(one, "p")
    assert edge_spans.backlog_chunk(one, "p") is a
    assert made == ["p"]
    assert a is not None
    assert list(a.start) == [US + 10, US + 20, US + 30]
    b = edge_spans.backlog_chunk(two, "p")  # another table: its own spans
    assert b is not None
    assert list(b.start) == [US + 10, US + 40]
    q = edge_spans.backlog_chunk(two, "q")  # another project of that table
    assert q is not None
    assert list(q.start) == [US + 6, US + 8]
    assert edge_spans.backlog_chunk(two, "r") is None
    assert made == ["p", "p", "q", "r"]
    again = edge_spans.backlog_chunk(one, "p")  # (still held: a few tables are)
    assert again is a
    assert made == ["p", "p", "q", "r"]
    assert np.array_equal(again.start, [US + 10, US + 20, US + 30])
