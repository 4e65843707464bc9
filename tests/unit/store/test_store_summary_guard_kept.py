"""`SketchGuard.keep` / `read_memory` (ADR 0071): a round's moment answers readers of memory.

A round moves spans from the backlog into the summaries; what the two hold together stays
the same, so the moment before it answers a reader of memory alone while it runs and until
the copies are taken again. A commit's queueing, a delete or a spoil changes what they hold:
from then on the kept moment must answer nothing. Each test fails if the guard answers from
a moment that no longer holds, or declines where the kept moment holds.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from llmpulse.store.events.summary_guard import SketchGuard

LIVE = "live"


def _reader(seen: list[str | None]) -> Callable[[str | None], str]:
    def read(kept: str | None) -> str:
        seen.append(kept)
        return LIVE if kept is None else kept

    return read


def _round(guard: SketchGuard) -> AbstractContextManager[None]:
    """A round's in-memory change (as `SummaryUpkeep.apply_locked` brackets it)."""
    return guard.changing(totals=False, content=False)


def test_a_quiet_moment_reads_live_and_a_rounds_change_reads_the_kept_moment() -> None:
    guard, seen = SketchGuard(), list[str | None]()
    read = _reader(seen)
    assert guard.read_memory(read) == LIVE
    guard.keep("before the round")
    with _round(guard):
        assert guard.read_memory(read) == "before the round"
    with guard.changing(content=False):  # the round's totals and the backlog's removal
        assert guard.read_memory(read) == "before the round"
    assert guard.read_memory(read, live=False) == "before the round"  # copies not taken yet
    assert guard.read_memory(read) == LIVE
    assert seen == [None, "before the round", "before the round", "before the round", None]


def test_a_commits_queueing_since_the_round_retires_the_kept_moment() -> None:
    guard, seen = SketchGuard(), list[str | None]()
    guard.keep("before the round")
    with guard.changing(summaries=False), guard.queueing():
        assert guard.read_memory(_reader(seen)) is None  # (in flight)
    with _round(guard):  # a later change: the moment does not hold what the backlog holds
        assert guard.read_memory(_reader(seen)) is None
    assert guard.read_memory(_reader(seen), live=False) is None
    assert seen == []


def test_a_commits_write_alone_leaves_the_kept_moment_holding() -> None:
    guard = SketchGuard()
    guard.keep("before the round")
    with guard.changing(summaries=False):  # spans written, not yet queued
        assert guard.read_memory(_reader([]), live=False) == "before the round"


def test_no_moment_is_kept_or_read_during_a_delete_nor_after_it() -> None:
    guard, seen = SketchGuard(), list[str | None]()
    with guard.changing():  # a delete and its recount (a round may run inside it)
        guard.keep("inside the delete")
        with _round(guard):
            assert guard.read_memory(_reader(seen)) is None
    assert guard.read_memory(_reader(seen), live=False) is None
    guard.keep("before the round")
    with guard.changing():
        assert guard.read_memory(_reader(seen), live=False) is None
    assert guard.read_memory(_reader(seen), live=False) is None
    assert seen == []


def test_an_answer_from_the_kept_moment_overlapped_by_a_queueing_is_not_kept() -> None:
    guard = SketchGuard()
    guard.keep("before the round")

    def overlapped(kept: str | None) -> str:
        with guard.changing(summaries=False), guard.queueing():
            pass
        return "stale"

    with _round(guard):
        assert guard.read_memory(overlapped) is None


def test_a_live_answer_overlapped_by_a_round_is_read_again_from_the_kept_moment() -> None:
    guard, seen = SketchGuard(), list[str | None]()

    def read(kept: str | None) -> str:
        seen.append(kept)
        if kept is None:  # a round begins while the live state is read
            guard.keep("before the round")
            with _round(guard):
                pass
            return "overlapped"
        return kept

    assert guard.read_memory(read) == "before the round"
    assert seen == [None, "before the round"]


def test_keep_none_and_a_spoil_retire_it() -> None:
    guard = SketchGuard()
    guard.keep("before the round")
    guard.keep(None)
    assert guard.read_memory(_reader([]), live=False) is None
    guard.keep("before the round")
    guard.spoil()
    assert guard.read_memory(_reader([]), live=False) is None
    assert guard.read_memory(_reader([])) is None


def test_forget_retires_only_the_moment_named() -> None:
    guard = SketchGuard()
    first, second = "first round", "second round"
    guard.keep(first)
    assert guard.kept is first
    guard.keep(second)  # a round on another thread kept its own meanwhile
    guard.forget(first)
    assert guard.read_memory(_reader([]), live=False) == second
    guard.forget(second)
    assert guard.kept is None
    assert guard.read_memory(_reader([]), live=False) is None
