"""SliceFinder-style discovery on all 1-key and 2-key aggregates (§4.8)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from llmpulse.analysis.discovery import discover_slices
from llmpulse.analysis.segments import SliceStats, SliceTotals
from llmpulse.domain.errors import InvalidInput

Builder = Callable[..., tuple[SliceStats, SliceTotals]]


def _traffic(seed: int, n: int = 20_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "model": rng.choice(["m1", "m2", "m3", "m4"], n),
        "region": rng.choice(["eu", "us", "ap", "sa"], n),
    }


def _errors(seed: int, p: np.ndarray) -> np.ndarray:
    return (np.random.default_rng(seed).random(p.size) < p).astype(float)


def test_discover_reports_parent_only_when_a_whole_model_is_bad(build_slices: Builder) -> None:
    # METHODS.md §4.8: prefer large, simple slices; crosses that only inherit are not reported
    cols = _traffic(1)
    p = np.where(cols["model"] == "m2", 0.10, 0.02)
    sliced, totals = build_slices(cols, _errors(2, p), kind="proportion")
    found = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    assert [r.keys for r in found] == [(("model", "m2"),)]
    assert found[0].rank == 1


def test_discover_reports_cross_when_badness_is_an_interaction(build_slices: Builder) -> None:
    # METHODS.md §4.8: the cross (model=m1, region=eu) is worse than the rest of both parents
    cols = _traffic(3)
    cross = (cols["model"] == "m1") & (cols["region"] == "eu")
    sliced, totals = build_slices(cols, _errors(4, np.where(cross, 0.25, 0.02)), kind="proportion")
    found = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    keys = [r.keys for r in found]
    assert (("model", "m1"), ("region", "eu")) in keys
    assert all(len(k) == 1 or k == (("model", "m1"), ("region", "eu")) for k in keys)
    ranked = [r for r in found if r.rank is not None]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    # issue 15 defect 5: the parents are worse only through the cross, so they fold under it
    folded = {r.keys: r.explained_by for r in found if r.explained_by is not None}
    assert folded == {
        (("model", "m1"),): (("model", "m1"), ("region", "eu")),
        (("region", "eu"),): (("model", "m1"), ("region", "eu")),
    }
    assert [r.keys for r in ranked] == [(("model", "m1"), ("region", "eu"))]


def test_discover_ignores_slice_when_effect_is_below_threshold(build_slices: Builder) -> None:
    # METHODS.md §4.8: problematic needs φ ≥ ε = 0.2; 2.4 % vs 2 % is significant at this
    # volume but tiny in effect size
    rng = np.random.default_rng(5)
    n = 400_000
    cols = {"model": rng.choice(["m1", "m2"], n)}
    p = np.where(cols["model"] == "m1", 0.024, 0.02)
    sliced, totals = build_slices(cols, _errors(6, p), kind="proportion", crosses=False)
    found = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    assert found == []
    loose = discover_slices(
        sliced, totals, kind="proportion", direction="higher_is_worse", min_effect=0.0
    )
    assert [r.keys for r in loose] == [(("model", "m1"),)]


def test_discover_keeps_top_k_and_is_deterministic_when_called_twice(build_slices: Builder) -> None:
    # METHODS.md §4.8 defaults: top-k by impact, ranks renumbered 1..k
    cols = _traffic(7)
    p = np.select(
        [cols["model"] == "m1", cols["region"] == "ap", cols["model"] == "m2"],
        [0.3, 0.2, 0.25],
        0.02,
    )
    sliced, totals = build_slices(cols, _errors(8, p), kind="proportion")
    everything = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    first = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse", k=2)
    again = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse", k=2)
    assert first == again
    assert len(everything) > 2
    assert [r.keys for r in first] == [r.keys for r in everything[:2]]
    assert [r.rank for r in first] == [1, 2]


def test_discover_works_on_mean_metrics_when_cost_is_high_in_a_cross(build_slices: Builder) -> None:
    # METHODS.md §4.8 with ψ = mean cost per request (Welch, φ with sample variances)
    cols = _traffic(9, n=8000)
    rng = np.random.default_rng(10)
    cross = (cols["model"] == "m4") & (cols["region"] == "sa")
    cost = rng.normal(1.0, 0.2, 8000) + np.where(cross, 0.5, 0.0)
    sliced, totals = build_slices(cols, cost, kind="mean")
    found = discover_slices(sliced, totals, kind="mean", direction="higher_is_worse")
    assert (("model", "m4"), ("region", "sa")) in [r.keys for r in found]


def test_discover_rejects_k_when_not_positive(build_slices: Builder) -> None:
    sliced, totals = build_slices(_traffic(1, n=200), np.zeros(200), kind="proportion")
    with pytest.raises(InvalidInput):
        discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse", k=0)


def test_discover_leaves_spans_without_the_key_out_of_the_rest(build_slices: Builder) -> None:
    # issue 15: "the rest" of model=X must not include chain spans, which carry no model
    rng = np.random.default_rng(9)
    n = 6000
    model = rng.choice(np.array(["m1", "m2"]), n)
    has_model = rng.random(n) < 0.5  # LLM spans; the others are chains without the key
    errors = (rng.random(n) < np.where(has_model, 0.08, 0.0)).astype(float)
    sliced, _ = build_slices({"model": model[has_model]}, errors[has_model], kind="proportion")
    totals = SliceTotals(float(n), float(errors.sum()))  # every span in scope, chains included
    found = discover_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    # both models err at 8 %: neither is worse than the other; against all spans (the old
    # rest, 4 % errors with the error-free chains) both would have been "worse"
    assert [r for r in found if r.rank is not None] == []
