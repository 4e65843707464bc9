"""When a scheduled report is due (issue 11 item 6): pure arithmetic over a clock's instants.

A `ReportSchedule` sends a project's health digest or SLO compliance report ``daily`` or
``weekly`` (on ``weekday``, 0 = Monday) at ``hour`` UTC to a list of receivers. `due_run`
answers the runtime's one question: given when it last sent, is a run due now, and for which
slot? Only the latest slot at or before ``now`` is returned, so a server that was down for a
week sends one report when it comes back, not one per missed day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Report = Literal["digest", "compliance"]
Every = Literal["daily", "weekly"]


class ReportSchedule(BaseModel):
    """What to send, how often, at which hour (UTC) and to which receivers."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    report: Report
    every: Every = "daily"
    hour: int = Field(default=8, ge=0, le=23)
    weekday: int | None = Field(default=None, ge=0, le=6)
    receivers: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weekday_for_weekly(self) -> ReportSchedule:
        if self.every == "weekly" and self.weekday is None:
            raise ValueError("weekday (0 = Monday … 6 = Sunday) is required for weekly")
        if self.every == "daily" and self.weekday is not None:
            raise ValueError("weekday is only for weekly schedules")
        return self

    @property
    def period(self) -> timedelta:
        """What each report covers: the day or the week before its slot."""
        return timedelta(days=7 if self.every == "weekly" else 1)


def latest_slot(s: ReportSchedule, now: datetime) -> datetime:
    """The latest scheduled instant at or before ``now`` (UTC)."""
    now = now.astimezone(UTC)
    slot = now.replace(hour=s.hour, minute=0, second=0, microsecond=0)
    if s.every == "weekly":
        assert s.weekday is not None  # noqa: S101 - the validator requires it
        slot -= timedelta(days=(slot.weekday() - s.weekday) % 7)
    while slot > now:
        slot -= s.period
    return slot


def due_run(s: ReportSchedule, last_sent: datetime | None, now: datetime) -> datetime | None:
    """The slot to send for now, or None when the latest slot was already sent.

    ``last_sent`` is the slot of the last run that was sent (None: never); every slot missed
    since then collapses into the latest one.
    """
    slot = latest_slot(s, now)
    if last_sent is not None and last_sent >= slot:
        return None
    return slot
