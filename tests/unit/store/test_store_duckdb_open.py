"""Opening a DuckDB event file: the truncation check does not mistake free tail blocks; one
transaction around a block of statements."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from contract.store_factories import make_rag_span
from llmpulse.domain.errors import StoreDamaged
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.duckdb_open import first_entry, torn_entry, transaction


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
    leaves free blocks at the end of the file, which DuckDB cuts off but still counts. The
    search index is off while the file is made: its background writes would move the free
    blocks around (the test opens the file with it on). Each open waits for the summaries'
    build (ADR 0039): its read snapshot would keep a checkpoint from freeing blocks."""
    store = DuckDBEventStore(path, search_index=False)
    store.catch_up()
    for n in range(0, 900, 300):
        store.append_spans([make_rag_span(n + k) for k in range(300)])
        store.checkpoint()
    store.sketch_guard.spoil()  # (see below)
    store.close()
    store = DuckDBEventStore(path, search_index=False)
    store.catch_up()
    store.append_spans([make_rag_span(900)])
    # One more checkpoint and append: with the search_text column (layout v6) the free blocks
    # reach the end of the file only after it.
    store.checkpoint()
    store.append_spans([make_rag_span(901)])
    # No traces' totals kept (ADR 0074): the stamp a clean close writes after the last
    # checkpoint would take the free blocks at the end of the file.
    store.sketch_guard.spoil()
    store.close()
    return 902


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


def _crash_copy(tmp_path: Path) -> Path:
    """A data file and its log as a crash leaves them: copied while the store is open, after
    20 commits and before any checkpoint."""
    store = DuckDBEventStore(tmp_path / "live.duckdb", journal=False)
    for n in range(0, 2000, 100):
        store.append_spans([make_rag_span(n + k) for k in range(100)])
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("live.duckdb", "live.duckdb.wal"):
        shutil.copyfile(tmp_path / name, crashed / name.replace("live", "events"))
    store.close()
    return crashed / "events.duckdb"


def _entry_after(path: Path, cut: int) -> int:
    """Where DuckDB says the entry torn by a cut at ``cut`` starts its payload."""
    wal = path.with_name(path.name + ".wal")
    whole = wal.read_bytes()
    os.truncate(wal, cut)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET debug_abort_on_wal_failure = true")
        with pytest.raises(duckdb.Error, match="byte position") as caught:
            con.execute(f"ATTACH '{path}' AS x (READ_ONLY)")
    finally:
        con.close()
        wal.write_bytes(whole)
    found = re.search(r"byte position (\d+)", str(caught.value))
    assert found is not None
    return int(found.group(1))


def test_a_log_cut_inside_an_entry_frame_is_replayed_up_to_that_entry(tmp_path: Path) -> None:
    """A cut inside an entry's 16-byte frame header: DuckDB names no byte position."""
    path = _crash_copy(tmp_path)
    wal = path.with_name(path.name + ".wal")
    payload = _entry_after(path, wal.stat().st_size // 2)
    frame = payload - 16
    os.truncate(wal, frame + 8)  # inside the frame: size read, checksum cut
    store = DuckDBEventStore(path, journal=False)
    try:
        recovery = store.wal_recovery
        assert recovery is not None
        assert recovery.replayed_bytes == frame
        assert recovery.wal_bytes == frame + 8
        assert 0 < recovery.spans_recovered < 2000
        assert store.stats().num_spans == recovery.spans_in_file + recovery.spans_recovered
    finally:
        store.close()


def _frame(size: int) -> bytes:
    return size.to_bytes(8, "little") + bytes(8) + b"x" * size


# A version entry as DuckDB 1.4+ writes it: type 98, log version 2, a 16-byte database
# identifier (varints) and checkpoint iteration 0, then the end-of-object marker.
_VERSION_ENTRY = (
    b"\x64\x00\x62\x65\x00\x02\x66\x00\x10"
    + b"\xed\x01\x40\x7a\x0e\x43\x49\x1d\x9f\x01\xc3\x01"
    + b"\x4a\xb1\x01\x30\x8f\x01\x46\xee\x01\xef\x01"
    + b"\x67\x00\x00\xff\xff"
)


def test_a_torn_frame_is_found_from_the_version_entry_not_from_a_lucky_offset(
    tmp_path: Path,
) -> None:
    """The byte before the first frame (0xff) and that frame's size read as a frame size of
    0xff + 100 * 256 = 25,855 bytes, which would reach past the end of this log: the frame
    chain must start where the version entry ends, not wherever the bytes look like a size."""
    frames = _frame(100) + b"".join(_frame(1000) for _ in range(24)) + _frame(1312)
    torn = len(_VERSION_ENTRY) + len(frames)
    data = _VERSION_ENTRY + frames + (500).to_bytes(8, "little")  # the size, not the checksum
    assert 25_855 <= len(data) < 25_855 + len(_VERSION_ENTRY) + 16
    wal = tmp_path / "events.duckdb.wal"
    wal.write_bytes(data)
    assert torn_entry(wal) == torn
    wal.write_bytes(data[:-8])  # the cut fell between two frames: the log ends where it was cut
    assert torn_entry(wal) == torn
    past_end = (10**6).to_bytes(8, "little") + bytes(8) + b"x" * 10  # a torn payload
    wal.write_bytes(data[:-8] + past_end)
    assert torn_entry(wal) is None


def test_a_torn_first_frame_is_found(tmp_path: Path) -> None:
    """A cut inside the first or second frame header is recovered from like a later one."""
    wal = tmp_path / "events.duckdb.wal"
    wal.write_bytes(_VERSION_ENTRY + _frame(100) + bytes(3))
    assert torn_entry(wal) == len(_VERSION_ENTRY) + 116
    wal.write_bytes(_VERSION_ENTRY + bytes(3))
    assert torn_entry(wal) == len(_VERSION_ENTRY)


def _frames(wal: Path) -> list[tuple[int, int]]:
    """Each entry frame of a whole log: (offset, payload size)."""
    data = wal.read_bytes()
    off = first_entry(data)
    assert off is not None
    out = []
    while off < len(data):
        size = int.from_bytes(data[off : off + 8], "little")
        out.append((off, size))
        off += 16 + size
    assert off == len(data)
    return out


def test_a_log_cut_anywhere_between_or_inside_frame_headers_opens(tmp_path: Path) -> None:
    """A commit writes several entries (table, rows, flush marker); a cut between two of them,
    or inside a frame header, gets "not enough data" from DuckDB with no byte position. Every
    such cut of a real log must open with a recovery report, never be refused as damaged."""
    path = _crash_copy(tmp_path)
    wal = path.with_name(path.name + ".wal")
    whole, file_bytes = wal.read_bytes(), path.read_bytes()
    frames = _frames(wal)[:12]
    cuts = sorted({o + d for o, _ in frames for d in (0, 1, 8, 15)})
    assert len(cuts) >= 40
    recovered = set()
    for cut in cuts:
        wal.write_bytes(whole[:cut])
        store = DuckDBEventStore(path, journal=False)
        try:
            recovery = store.wal_recovery
            n = store.stats().num_spans
        finally:
            store.close()
        for kept in path.parent.glob("*.damaged*"):
            kept.unlink()
        path.write_bytes(file_bytes)  # the open replayed the log into the file: undo it
        if recovery is not None:
            recovered.add(cut)
            assert recovery.wal_bytes == cut
            assert n == recovery.spans_in_file + recovery.spans_recovered
    # Every cut inside a frame header is a recovery; a cut between frames is one unless it
    # fell right after a commit's flush marker (then the log is whole).
    assert {o + d for o, _ in frames for d in (1, 8, 15)} <= recovered
    assert len(recovered) > len(cuts) * 3 // 4


def _insert_then_fail(con: duckdb.DuckDBPyConnection, n: int, *, end_first: bool) -> None:
    with transaction(con):
        con.execute("INSERT INTO t VALUES (?)", [n])
        if end_first:  # as DuckDB ends a transaction whose COMMIT failed
            con.execute("COMMIT")
        raise ValueError(f"planted {n}")


def test_a_transaction_commits_its_block_or_rolls_it_back_with_the_blocks_error() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (n INTEGER)")
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ValueError, match="planted 2"):
        _insert_then_fail(con, 2, end_first=False)
    # the rollback finds no transaction, and the block's own error still surfaces
    with pytest.raises(ValueError, match="planted 3"):
        _insert_then_fail(con, 3, end_first=True)
    assert [r[0] for r in con.execute("SELECT n FROM t ORDER BY n").fetchall()] == [1, 3]
    con.close()
