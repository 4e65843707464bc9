"""Window tables per SLO period, the project bucket, report periods and small helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from llmpulse.slos.evaluate import SloStatus, evaluate, least_budget_first
from llmpulse.slos.gate import for_version
from llmpulse.slos.report import periods
from llmpulse.slos.service import align_down, align_up
from llmpulse.slos.spec import SloSpec
from llmpulse.slos.windows import project_bucket, rules_for
from llmpulse.store.slo_api import Counts

M = timedelta(minutes=1)


def _spec(window: str, **extra: Any) -> SloSpec:
    return SloSpec.model_validate(
        {"name": "s", "project": "p", "objective": "0.999", "window": window,
         "sli": {"type": "availability"}, **extra}
    )  # fmt: skip


def test_30d_keeps_the_workbook_table() -> None:
    rules = rules_for(_spec("30d"), 5 * M)
    assert [(r.name, r.long, r.short, r.factor) for r in rules] == [
        ("page_quick", timedelta(hours=1), 5 * M, Decimal("14.4")),
        ("page_slow", timedelta(hours=6), 30 * M, Decimal("6")),
        ("ticket_quick", timedelta(days=1), timedelta(hours=2), Decimal("3")),
        ("ticket_slow", timedelta(days=3), timedelta(hours=6), Decimal("1")),
    ]
    assert rules[0].threshold == Decimal("0.0144")


def test_other_periods_scale_the_windows_and_keep_the_factors() -> None:
    rules = rules_for(_spec("7d"), M)
    assert [(r.long, r.short) for r in rules[:2]] == [(14 * M, M), (84 * M, 7 * M)]
    assert [round(float(r.factor), 2) for r in rules] == [14.4, 6.0, 3.0, 1.0]
    tiny = rules_for(_spec("1h"), M)  # windows at least two buckets, short below long
    assert all(r.short < r.long and r.long >= 2 * M for r in tiny)


def test_alerting_switches_select_severities() -> None:
    rules = rules_for(_spec("30d", alerting={"page": False, "ticket": True}), 5 * M)
    assert {r.severity for r in rules} == {"ticket"}


def test_project_bucket_divides_every_window_and_slice() -> None:
    assert project_bucket([_spec("30d"), _spec("28d")]) == 5 * M
    assert project_bucket([_spec("30d"), _spec("7d")]) == M
    p95 = SloSpec.model_validate(
        {"name": "q", "project": "p", "objective": 0.99, "window": "30d",
         "sli": {"type": "latency_quantile", "threshold_ms": 100, "slice": "10m"}}
    )  # fmt: skip
    assert project_bucket([p95]) == 5 * M


def test_alignment_is_to_the_epoch() -> None:
    t = datetime(2026, 11, 20, 12, 7, 30, tzinfo=UTC)
    assert align_down(t, 5 * M) == datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
    assert align_up(t, 5 * M) == datetime(2026, 11, 20, 12, 10, tzinfo=UTC)
    assert align_up(align_down(t, M), M) == align_down(t, M)


def test_report_periods() -> None:
    start = datetime(2026, 10, 15, tzinfo=UTC)
    end = datetime(2026, 12, 2, tzinfo=UTC)
    assert [p.label for p in periods(start, end, "month")] == ["2026-10", "2026-11", "2026-12"]
    days = periods(start, start + timedelta(days=2, hours=3), "day")
    assert [p.label for p in days] == ["2026-10-15", "2026-10-16", "2026-10-17"]
    assert days[-1].end == start + timedelta(days=2, hours=3)


def test_a_version_scope_is_added_to_the_filter() -> None:
    spec = _spec("30d", filter="tier = 'pro'")
    assert for_version(spec, "v'2").filter == "tier = 'pro' and version = 'v\\'2'"
    assert for_version(_spec("30d"), "v2").filter == "version = 'v2'"


def test_time_slice_rules_have_no_low_traffic_floor() -> None:
    p95 = SloSpec.model_validate(
        {"name": "q", "project": "p", "objective": "0.999", "window": "30d",
         "sli": {"type": "latency_quantile", "threshold_ms": 100, "slice": "5m"}}
    )  # fmt: skip
    assert [r.min_short_valid for r in rules_for(p95, 5 * M)] == [0, 0, 0, 0]
    assert rules_for(_spec("30d"), 5 * M)[0].min_short_valid == 139  # requests: 2/0.0144


def _status_with(name: str, bad_per_bucket: float, valid_per_bucket: float) -> SloStatus:
    spec = _spec("7d").model_copy(update={"name": name})
    n = 7 * 24 * 12  # 7 days of 5-minute buckets
    start = datetime(2026, 11, 1, tzinfo=UTC)
    valid = np.full(n, valid_per_bucket)
    counts = Counts(start, 5 * M, valid - bad_per_bucket, valid)
    return evaluate(spec, counts, rules_for(spec, 5 * M), start + n * 5 * M)


def test_statuses_rank_least_budget_left_first_and_no_data_last() -> None:
    statuses = [
        _status_with("quiet", 0.0, 0.0),  # no events: no budget figure
        _status_with("healthy", 0.0, 100.0),
        _status_with("burning", 0.05, 100.0),  # half of the 0.1 % budget spent
        _status_with("breached", 1.0, 100.0),  # ten times the budget spent
        _status_with("also-quiet", 0.0, 0.0),
    ]
    ranked = least_budget_first(statuses)
    assert [s.name for s in ranked] == ["breached", "burning", "healthy", "also-quiet", "quiet"]
    assert [s.budget.remaining for s in ranked[:3]] == pytest.approx([-9.0, 0.5, 1.0])
    assert [s.budget.status for s in ranked] == [
        "breached",
        "healthy",
        "healthy",
        "insufficient_data",
        "insufficient_data",
    ]
