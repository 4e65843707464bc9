"""View models of the explanations page: bars, waterfall geometry, heat-map shading."""

from __future__ import annotations

import pytest

from llmpulse.ui.explain_views import heatmap, importance_bars, short, waterfall


def test_importance_bars_scale_to_the_longest() -> None:
    bars = importance_bars({"a": 2.0, "b": 1.0, "c": 0.0})
    assert [(b.label, b.pct) for b in bars] == [("a", 100.0), ("b", 50.0), ("c", 0.0)]
    assert importance_bars({}) == []


def test_waterfall_walks_from_base_to_output_and_folds_the_tail() -> None:
    exp = {
        "base_value": 1.0,
        "contributions": [
            {"feature": "a", "contribution": 2.0, "value": 5.123456},
            {"feature": "b", "contribution": -1.0, "value": "x"},
            {"feature": "c", "contribution": 0.5},
            {"feature": "d", "contribution": -0.5},
        ],
    }
    steps, base, final = waterfall(exp, top=2)
    assert base == 1.0
    assert final == pytest.approx(2.0)  # 1 + 2 - 1 + 0.5 - 0.5
    assert [s.label for s in steps] == ["a", "b", "2 other features"]
    # Axis from the lowest point (1.0) to the highest (3.0): "a" spans 0-100 %, "b" 50-100 %.
    assert (steps[0].start_pct, steps[0].end_pct, steps[0].up) == (0.0, 100.0, True)
    assert (steps[1].start_pct, steps[1].end_pct, steps[1].up) == (50.0, 100.0, False)
    assert steps[2].value == pytest.approx(0.0)
    assert steps[0].text == "5.123"


def test_heatmap_shades_each_sentence_by_its_best_chunk() -> None:
    exp = {
        "chunks": [{"index": 1, "score": 2.0}, {"index": 0, "score": -1.0}],
        "sentences": [{"text": "s1", "chunks": [{"index": 1, "score": 4.0},
                                                {"index": 0, "score": 1.0}]}],
    }  # fmt: skip
    m = heatmap(exp)
    assert [c["index"] for c in m.chunks] == [0, 1]
    assert m.chunk_scores == [-1.0, 2.0]
    assert m.chunk_shades == [0.0, 1.0]
    assert m.cells == [[0.25, 1.0]]


def test_short_values_keep_four_significant_digits() -> None:
    assert [short(v) for v in (34.63393509683196, 7, "eu", True, None)] == [
        "34.63", "7", "eu", "true", "",
    ]  # fmt: skip
