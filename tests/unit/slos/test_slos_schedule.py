"""`due_run`: scheduled reports are sent once per slot, and missed slots collapse into one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from llmpulse.slos.schedule import ReportSchedule, due_run, latest_slot

DAILY = ReportSchedule(report="digest", hour=8, receivers=("team",))
WEEKLY = ReportSchedule(report="compliance", every="weekly", weekday=0, hour=6, receivers=("x",))


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)  # 2 March 2026 is a Monday


def test_a_daily_report_is_due_at_its_hour_and_then_not_again_that_day() -> None:
    assert due_run(DAILY, _t(2, 8), _t(2, 7, 59)) is None  # sent for today's slot already
    assert due_run(DAILY, _t(1, 8), _t(2, 7, 59)) is None  # today's slot is not reached yet
    assert due_run(DAILY, _t(1, 8), _t(2, 8)) == _t(2, 8)
    assert due_run(DAILY, _t(2, 8), _t(2, 23, 59)) is None
    assert due_run(DAILY, None, _t(2, 3)) == _t(1, 8)  # never sent: yesterday's slot


def test_missed_days_after_a_restart_are_sent_once_for_the_latest_slot() -> None:
    last = _t(2, 8)
    now = _t(9, 12)  # down for a week
    slot = due_run(DAILY, last, now)
    assert slot == _t(9, 8)
    assert due_run(DAILY, slot, now) is None  # once sent, nothing else is owed
    assert due_run(DAILY, slot, now + timedelta(hours=20)) == _t(10, 8)


def test_a_weekly_report_is_due_on_its_weekday_only() -> None:
    assert latest_slot(WEEKLY, _t(4, 12)) == _t(2, 6)  # Wednesday: last Monday
    assert latest_slot(WEEKLY, _t(9, 5)) == _t(2, 6)  # Monday before the hour: a week before
    assert due_run(WEEKLY, _t(2, 6), _t(8, 23)) is None
    assert due_run(WEEKLY, _t(2, 6), _t(9, 6)) == _t(9, 6)
    assert WEEKLY.period == timedelta(days=7)


@pytest.mark.parametrize(
    "body",
    [
        {"report": "digest", "receivers": ["a"], "hour": 24},
        {"report": "digest", "receivers": []},
        {"report": "nope", "receivers": ["a"]},
        {"report": "digest", "every": "weekly", "receivers": ["a"]},
        {"report": "digest", "weekday": 2, "receivers": ["a"]},
    ],
)
def test_invalid_schedules_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ReportSchedule.model_validate(body)
