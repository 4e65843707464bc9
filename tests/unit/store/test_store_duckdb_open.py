"""Opening a DuckDB event file: the truncation check does not mistake free tail blocks."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from contract.store_factories import make_rag_span
from llmpulse.domain.errors import StoreDamaged
from llmpulse.store.events.duckdb import DuckDBEventStore


def _blocks(path: Path) -> tuple[int, int, int]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{path}' AS x (READ_ONLY)")
        rows = con.execute(
            "SELECT block_size, total_blocks, free_blocks FROM pragma_database_size() "
            "WHERE database_name = 'x'"
        ).fetchall()
    finally:
        con.close()
    size, total, free = (int(v) for v in rows[0])
    return size, total, free


def _fragmented(path: Path) -> int:
    """Streamed commits with checkpoints, then one more open and append: the last checkpoint
    leaves free blocks at the end of the file, which DuckDB cuts off but still counts."""
    store = DuckDBEventStore(path)
    for n in range(0, 900, 300):
        store.append_spans([make_rag_span(n + k) for k in range(300)])
        store.checkpoint()
    store.close()
    store = DuckDBEventStore(path)
    store.append_spans([make_rag_span(900)])
    store.close()
    return 901


def test_a_file_whose_free_tail_blocks_were_cut_off_opens(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    n = _fragmented(path)
    size, total, free = _blocks(path)
    assert path.stat().st_size < 3 * 4096 + size * total  # the header counts a missing block
    assert free > 0
    store = DuckDBEventStore(path)
    assert store.stats().num_spans == n
    store.close()


def test_a_file_cut_inside_its_used_blocks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    _fragmented(path)
    size, total, free = _blocks(path)
    os.truncate(path, 3 * 4096 + size * (total - free - 1))
    with pytest.raises(StoreDamaged, match="cut off"):
        DuckDBEventStore(path).close()
