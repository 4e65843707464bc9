"""`SketchGuard.set_ready(totals=False)` (ADR 0072): the summaries open before the totals.

While the traces' totals are still being built, their readers (``read(commits=False)``)
must not read them, and every other reader may read the summaries. These tests fail if a
totals reader answers before `set_ready()`, or if another reader is held back meanwhile.
"""

from __future__ import annotations

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
