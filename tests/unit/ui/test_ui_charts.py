"""Pure chart helpers of the UI: ticks, time axes, line gaps, bars, intervals, formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.ui.charts import (
    BarItem,
    Series,
    bar_chart,
    interval_mark,
    line_chart,
    nice_ticks,
    time_ticks,
)
from llmpulse.ui.formats import (
    compact_number,
    dollars,
    format_diff,
    format_p,
    format_value,
    percent,
    short_ms,
)

T0 = datetime(2025, 11, 23, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_nice_ticks_cover_range_with_round_steps_when_range_is_ragged() -> None:
    assert nice_ticks(0.0, 0.137) == [0.0, 0.05, 0.1, 0.15]
    assert nice_ticks(0.0, 1830.0) == [0.0, 500.0, 1000.0, 1500.0, 2000.0]


def test_nice_ticks_give_unit_range_when_all_values_are_zero() -> None:
    assert nice_ticks(0.0, 0.0) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_time_ticks_align_to_round_hours_when_window_is_a_day() -> None:
    ticks = time_ticks(T0 + timedelta(minutes=7), T0 + timedelta(days=1, minutes=7))
    assert ticks[0] == T0 + timedelta(hours=6)
    assert all(t.minute == 0 and t.hour % 6 == 0 for t in ticks)
    assert 3 <= len(ticks) <= 6


def test_line_chart_breaks_line_when_a_bucket_is_missing() -> None:
    s = Series("p95", ((T0, 1.0), (T0 + H, 2.0), (T0 + 3 * H, 3.0)))
    chart = line_chart([s], T0, T0 + 4 * H, H, str)
    (line,) = chart.lines
    assert line.path.count("M") == 2  # two runs: [0h, 1h] and [3h]
    assert len(line.dots) == 3


def test_line_chart_is_empty_when_no_series_has_points() -> None:
    chart = line_chart([Series("a", ()), Series("b", ())], T0, T0 + 4 * H, H, str)
    assert chart.is_empty
    assert chart.lines == ()


def test_line_chart_places_larger_values_higher_when_drawn() -> None:
    s = Series("x", ((T0, 1.0), (T0 + H, 4.0)))
    chart = line_chart([s], T0, T0 + 2 * H, H, compact_number)
    low, high = chart.lines[0].dots
    assert high.y < low.y  # SVG y grows downwards
    assert low.x < high.x
    assert chart.box.top <= high.y <= chart.box.bottom
    assert [t.label for t in chart.y_ticks] == ["0", "1", "2", "3", "4"]


def test_line_chart_draws_one_line_per_series_with_distinct_colours() -> None:
    series = [Series(f"g{i}", ((T0, float(i)),)) for i in range(3)]
    chart = line_chart(series, T0, T0 + H, H, str, area=False)
    assert [line.name for line in chart.lines] == ["g0", "g1", "g2"]
    assert len({line.color for line in chart.lines}) == 3
    assert all(line.area == "" for line in chart.lines)


def test_bar_chart_scales_bars_and_reference_on_one_axis_when_given() -> None:
    chart = bar_chart([BarItem("a", 0.2, "worse"), BarItem("b", 0.1)], 0.15, percent)
    a, b = chart.bars
    assert a.width == pytest.approx(2 * b.width, rel=0.02)
    assert chart.reference_x is not None
    assert b.x + b.width < chart.reference_x < a.x + a.width
    assert a.tone == "worse"
    assert chart.reference_text == "15%"


def test_bar_chart_skips_items_without_a_value() -> None:
    chart = bar_chart(
        [BarItem("a", None), BarItem("b", float("nan")), BarItem("c", 1.0)], None, str
    )
    assert [b.label for b in chart.bars] == ["c"]
    assert chart.reference_x is None


def test_interval_mark_clamps_to_scale_when_interval_spills_over() -> None:
    mark = interval_mark(0.5, -0.1, 1.2, 1.0)
    assert (mark.low_pct, mark.value_pct, mark.high_pct) == (0.0, 50.0, 100.0)


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("error:rate", 0.05, "5%"),
        ("error:rate", 0.125, "12.5%"),
        ("error:rate", 0.0037, "0.37%"),
        ("latency_ms:p95", 850.0, "850 ms"),
        ("latency_ms:p95", 1830.0, "1.83 s"),
        ("cost_usd:sum", 12.5, "$12.50"),
        ("cost_usd:mean", 0.00123, "$0.0012"),
        ("total_tokens:sum", 15_243_852.0, "15.2M"),
        ("count", 1234.0, "1.2k"),
        ("annotation.hallucination.score:mean", 0.1147, "0.115"),
        ("error:rate", None, "\u2013"),
        ("error:rate", float("nan"), "\u2013"),
    ],
)
def test_format_value_uses_unit_of_metric(metric: str, value: float | None, text: str) -> None:
    assert format_value(metric, value) == text


def test_small_formatters_read_well_at_edges() -> None:
    assert compact_number(0) == "0"
    assert compact_number(45_000) == "45k"
    assert short_ms(0) == "0 ms"
    assert dollars(0) == "$0"
    assert format_diff("latency_ms:p95", -35.0) == "-35 ms"
    assert format_diff("error:rate", 0.02) == "+2%"
    assert format_p(0.00001) == "<0.0001"
    assert format_p(0.0123) == "0.012"
    assert format_p(0.5) == "0.5"
