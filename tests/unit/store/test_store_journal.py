"""The ingest journal: records survive reopening, torn tails are cut, released segments go."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from llmpulse.domain.errors import Unavailable
from llmpulse.store.journal import Journal


def table(*values: int) -> pa.Table:
    return pa.table({"n": pa.array(values, type=pa.int64())})


def replayed(journal: Journal, after: int = 0) -> list[tuple[int, list[int]]]:
    return [(seq, t.column("n").to_pylist()) for seq, t in journal.replay(after)]


def reopened(path: Path, after: int = 0) -> tuple[int, list[tuple[int, list[int]]]]:
    with Journal(path) as journal:
        return journal.last_seq, replayed(journal, after)


def test_journal_replays_records_after_a_sequence_when_reopened(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        assert journal.append([table(1, 2), table(3)]) == 2
        assert journal.append([table(4)]) == 3
    assert reopened(tmp_path) == (3, [(1, [1, 2]), (2, [3]), (3, [4])])
    assert reopened(tmp_path, after=2) == (3, [(3, [4])])


def test_journal_cuts_a_torn_last_record_when_reopened(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append([table(1)])
        journal.append([table(2)])
    (segment,) = tmp_path.glob("*.journal")
    segment.write_bytes(segment.read_bytes()[:-5])  # a crash in the middle of record 2
    with Journal(tmp_path) as again:
        assert (again.last_seq, replayed(again)) == (1, [(1, [1])])
        assert again.append([table(3)]) == 2
    assert reopened(tmp_path) == (2, [(1, [1]), (2, [3])])


def test_journal_refuses_to_open_when_an_older_segment_is_damaged(tmp_path: Path) -> None:
    with Journal(tmp_path, segment_bytes=1) as journal:
        journal.append([table(1)])
        journal.append([table(2)])
    first = sorted(tmp_path.glob("*.journal"))[0]
    damaged = bytearray(first.read_bytes())
    damaged[-1] ^= 0xFF
    first.write_bytes(bytes(damaged))
    with pytest.raises(Unavailable, match="damaged"):
        Journal(tmp_path)


def test_journal_release_deletes_only_segments_the_store_holds_in_full(tmp_path: Path) -> None:
    with Journal(tmp_path, segment_bytes=1) as journal:  # one record per segment
        for n in range(4):
            journal.append([table(n)])
        assert len(list(tmp_path.glob("*.journal"))) == 4
        journal.release(2)
        assert replayed(journal) == [(3, [2]), (4, [3])]
        journal.release(4)
        assert list(tmp_path.glob("*.journal")) == []
        assert journal.append([table(9)]) == 5


def test_journal_numbers_records_above_what_the_store_holds_when_resumed(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.resume_after(41)
        assert journal.append([table(1)]) == 42
