"""`SketchGuard.read(memory=True)` (ADR 0068): readers of memory alone wait for the summaries'
changes and commits' queueing, not for a commit's write to the spans.

A reader of the held rows, the backlog and the sketch's copy reads nothing a commit changes
before its queueing, so a commit writing its spans must not hold it back; the queueing and
the summaries' own changes must, and a reader overlapped by either must not keep its
answer. Each test fails if the guard waits where it need not or keeps what it must not.
"""

from __future__ import annotations

import contextlib
import threading

from llmpulse.store.events.summary_guard import SketchGuard


def test_a_commits_write_does_not_hold_a_memory_reader_back() -> None:
    guard = SketchGuard()
    with guard.changing(summaries=False):  # a commit writing its spans
        assert guard.read(lambda: "answer", memory=True, wait=False) == "answer"
        assert guard.read(lambda: "answer", wait=False) is None  # readers of the spans wait


def test_queueing_and_the_summaries_changes_do() -> None:
    guard = SketchGuard()
    with guard.changing(summaries=False), guard.queueing():
        assert guard.read(lambda: "answer", memory=True, wait=False) is None
    with guard.changing(totals=False):  # an apply's in-memory part
        assert guard.read(lambda: "answer", memory=True, wait=False) is None
    with guard.changing():  # an apply's totals, a delete
        assert guard.read(lambda: "answer", memory=True, wait=False) is None
    assert guard.read(lambda: "answer", memory=True, wait=False) == "answer"


def test_an_answer_overlapped_by_a_queueing_or_a_change_is_not_kept() -> None:
    guard = SketchGuard()

    def overlapped_by(change: contextlib.AbstractContextManager[None]) -> str:
        with change:
            pass
        return "stale"

    assert guard.read(lambda: overlapped_by(guard.queueing()), memory=True, wait=False) is None
    assert guard.read(lambda: overlapped_by(guard.changing()), memory=True, wait=False) is None
    commit = guard.changing(summaries=False)
    assert guard.read(lambda: overlapped_by(commit), memory=True, wait=False) == "stale"


def test_a_memory_reader_waits_for_a_queueing_to_end() -> None:
    guard = SketchGuard()
    entered, release = threading.Event(), threading.Event()

    def commit() -> None:
        with guard.changing(summaries=False), guard.queueing():
            entered.set()
            release.wait(5)

    t = threading.Thread(target=commit)
    t.start()
    assert entered.wait(5)
    threading.Timer(0.002, release.set).start()
    assert guard.read(lambda: "after", memory=True) == "after"  # waited, then read
    t.join(5)


def test_a_failed_commit_spoils_memory_readers_too() -> None:
    guard = SketchGuard()
    with contextlib.suppress(RuntimeError), guard.changing(summaries=False):
        raise RuntimeError("COMMIT failed")
    assert guard.read(lambda: "answer", memory=True) is None
    assert guard.spoiled
