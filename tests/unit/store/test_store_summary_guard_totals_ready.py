"""`SketchGuard.set_ready(totals=False)` (ADR 0072): the summaries open before the totals.

While the traces' totals are still being built, their readers (``read(commits=False)``)
must not read them, and every other reader may read the summaries. These tests fail if a
totals reader answers before `set_ready()`, or if another reader is held back meanwhile.
"""

from __future__ import annotations

import pytest

from llmpulse.store.events.summary_guard import SketchGuard


def test_totals_readers_decline_until_the_totals_are_built() -> None:
    guard = SketchGuard(ready=False)
    assert guard.read(lambda: "answer") is None
    guard.set_ready(totals=False)
    assert guard.usable
    assert guard.read(lambda: "answer") == "answer"
    assert guard.read(lambda: "answer", memory=True, wait=False) == "answer"
    assert guard.read_memory(lambda kept: "answer") == "answer"
    assert guard.read_pinned(lambda version, snapshot: version, lambda v: "answer")[1] == "answer"
    assert guard.read(lambda: "totals", commits=False) is None
    assert guard.read(lambda: "totals", commits=False, wait=False) is None
    guard.set_ready()
    assert guard.read(lambda: "totals", commits=False) == "totals"


def test_a_guard_made_ready_has_its_totals_ready() -> None:
    assert SketchGuard().read(lambda: "totals", commits=False) == "totals"


def test_kept_totals_open_before_the_other_summaries() -> None:
    """`open_totals` (ADR 0074): totals kept from the last close answer their readers while
    every other reader declines, until the others are built; a spoil ends both."""
    guard = SketchGuard(ready=False)
    guard.open_totals()
    assert guard.totals_usable
    assert not guard.usable
    assert guard.read(lambda: "totals", commits=False) == "totals"
    assert guard.read(lambda: "totals", commits=False, wait=False) == "totals"
    assert guard.read(lambda: "answer") is None
    assert guard.read(lambda: "answer", memory=True, wait=False) is None
    assert guard.read_memory(lambda kept: "answer") is None
    with guard.changing(content=False):  # a change of the totals: their readers wait
        assert guard.read(lambda: "totals", commits=False, wait=False) is None
    guard.set_ready()
    assert guard.read(lambda: "answer") == "answer"
    assert guard.read(lambda: "totals", commits=False) == "totals"
    guard.spoil()
    assert not guard.totals_usable
    assert guard.read(lambda: "totals", commits=False) is None


def test_a_change_that_raised_is_no_longer_in_flight() -> None:
    """`changes_in_flight` (the close keeps no totals while it holds, ADR 0074) counts a change
    from its start to its end, also when it raised (and spoiled the summaries)."""
    guard = SketchGuard()
    assert not guard.changes_in_flight
    with guard.changing():
        assert guard.changes_in_flight
    assert not guard.changes_in_flight
    seen: list[bool] = []

    def failing() -> None:
        with guard.changing():
            seen.append(guard.changes_in_flight)
            raise RuntimeError("a delete failed")

    with pytest.raises(RuntimeError):
        failing()
    assert seen == [True]
    assert not guard.changes_in_flight
    assert guard.spoiled
