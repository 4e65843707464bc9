"""Why an analysis found nothing, in one sentence (issue 12, item 9).

An empty result is only useful when it says which of its causes holds: no data, every slice
under the minimum size, slices tested but none significantly different (with the smallest
adjusted p-value), or, for what-changed, a change that moved every segment alike (the whole
traffic got worse, no slice more than the rest: then what-changed reports it as one global
finding, and discovery finds no slice worse than the rest). Pure: it reads the rows the tests
returned.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmpulse.analysis.changes import SliceChange
from llmpulse.analysis.segments import SliceResult


def why_no_worse_slice(rows: Sequence[SliceResult], min_support: int, total_n: int) -> str | None:
    """Why no slice is significantly worse than the rest; None when one is.

    ``rows`` may hold every slice (a key's comparison) or only findings and untested slices
    (discovery); ``total_n`` is the spans the analysis looked at.
    """
    if any(r.significant and r.worse for r in rows):
        return None
    if total_n == 0:
        return "no spans carry this key in the chosen range, so there is nothing to compare"
    tested = [r for r in rows if r.tested]
    if rows and not tested:
        return (
            f"every slice is smaller than the minimum size ({min_support} units) the tests "
            f"need; the largest has {max(r.n for r in rows)}: widen the range or lower min_support"
        )
    even = (
        "the metric is the same across this key's segments (a change, if any, affects all "
        "segments equally)"
    )
    if not tested:
        return f"no slice differs from the rest beyond chance: {even}"
    best = min(tested, key=lambda r: r.p_adjusted)
    better = sum(1 for r in tested if r.significant and not r.worse)
    tail = f"; {better} slice(s) are significantly better" if better else ""
    return (
        f"the {len(tested)} slices tested differ from the rest no more than chance explains "
        f"(smallest adjusted p = {best.p_adjusted:.2g}, for {_label(best.keys)}){tail}: {even}"
    )


def why_no_change(rows: Sequence[SliceChange], min_support: int) -> str | None:
    """Why no slice got significantly worse than its own baseline; None when one did (or
    the whole traffic did: a ``global`` finding, "affects all segments")."""
    if any(r.status in ("reported", "global") for r in rows):
        return None
    tested = [r for r in rows if r.status != "too_small"]
    if not tested:
        return (
            f"no slice reaches the minimum size ({min_support}) in both windows, so none "
            "could be tested: widen the windows or lower min_support"
        )
    best = min(tested, key=lambda r: r.p_adjusted)
    improved = sum(1 for r in tested if r.status == "improved")
    tail = f"; {improved} slice(s) got significantly better" if improved else ""
    return (
        f"none of the {len(tested)} slices tested got worse than its own baseline beyond "
        f"chance (smallest adjusted p = {best.p_adjusted:.2g}, for {_label(best.keys)}){tail}"
    )


def _label(keys: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in keys) or "all traffic"
