"""Why an analysis found nothing: the reason matches the data planted, and data with an effect
gets no such message (issue 12, item 9)."""

from __future__ import annotations

import numpy as np

from conftest import Builder
from llmpulse.analysis.changes import discover_changes
from llmpulse.analysis.discovery import discover_slices
from llmpulse.analysis.nothing_found import why_no_change, why_no_worse_slice
from llmpulse.analysis.segments import SliceStats


def _traffic(seed: int, n: int = 8_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"tier": rng.choice(["free", "pro", "enterprise"], n),
            "region": rng.choice(["eu", "us"], n)}  # fmt: skip


def _errors(seed: int, p: np.ndarray) -> np.ndarray:
    return (np.random.default_rng(seed).random(p.size) < p).astype(float)


def _discover(build: Builder, cols: dict[str, np.ndarray], bad: np.ndarray) -> str | None:
    sliced, totals = build(cols, bad, kind="proportion")
    rows = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    return why_no_worse_slice(rows, 30, int(bad.size))


def test_a_planted_bad_segment_gets_no_nothing_found_message(build_slices: Builder) -> None:
    cols = _traffic(1)
    p = np.where(cols["tier"] == "enterprise", 0.12, 0.02)
    assert _discover(build_slices, cols, _errors(2, p)) is None


def test_a_burst_on_every_segment_is_reported_as_affecting_all_segments_equally(
    build_slices: Builder,
) -> None:
    # The same error burst (2 % -> 20 %) on every tier and region: no slice is worse than
    # the rest, and the message says why, on at least 18 of 20 seeds (BH at q = 0.05).
    said = 0
    for seed in range(20):
        cols = _traffic(100 + seed)
        why = _discover(build_slices, cols, _errors(200 + seed, np.full(cols["tier"].size, 0.2)))
        if why is not None:
            assert "affects all segments equally" in why
            said += 1
    assert said >= 18


def test_slices_under_the_minimum_size_say_so(build_slices: Builder) -> None:
    cols = _traffic(5, n=40)
    why = _discover(build_slices, cols, _errors(6, np.full(40, 0.5)))
    assert why is not None
    assert why.startswith("every slice is smaller than the minimum size (30 units)")


def test_no_spans_with_the_key_say_so() -> None:
    assert why_no_worse_slice([], 30, 0) == (
        "no spans carry this key in the chosen range, so there is nothing to compare"
    )


TIER_E, OTHER = (("tier", "enterprise"),), (("tier", "free"),)


def test_changes_without_a_worse_slice_name_how_many_were_tested() -> None:
    base = SliceStats((TIER_E, OTHER), [4000, 8000], bad=[80, 160])
    cur = SliceStats((TIER_E, OTHER), [4000, 8000], bad=[82, 158])
    rows = discover_changes(base, cur, kind="proportion", direction="higher_is_worse")
    why = why_no_change(rows, 30)
    assert why is not None
    assert why.startswith("none of the 2 slices tested got worse than its own baseline")


def test_changes_with_a_planted_jump_get_no_message() -> None:
    base = SliceStats((TIER_E, OTHER), [400, 800], bad=[4, 8])
    cur = SliceStats((TIER_E, OTHER), [400, 800], bad=[40, 8])
    rows = discover_changes(base, cur, kind="proportion", direction="higher_is_worse")
    assert why_no_change(rows, 30) is None


def test_changes_too_small_to_test_say_so() -> None:
    base = SliceStats((TIER_E,), [10], bad=[0])
    cur = SliceStats((TIER_E,), [12], bad=[6])
    rows = discover_changes(base, cur, kind="proportion", direction="higher_is_worse")
    why = why_no_change(rows, 30)
    assert why is not None
    assert why.startswith("no slice reaches the minimum size (30) in both windows")
