"""Silences: matchers plus a time interval; matching alerts are muted while it is active.

State as in Alertmanager (`silence.CalcSilenceState`): pending before `starts_at`, active
from `starts_at` up to (not including) `ends_at`, expired from `ends_at` on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from llmpulse.alerts.matchers import LabelSet, Matcher, matches_all
from llmpulse.domain.errors import InvalidInput


class SilenceState(StrEnum):
    """Where a silence stands at an instant."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Silence:
    """A time-boxed mute.

    Attributes:
        id: Identifier.
        matchers: All must match an alert for it to be silenced.
        starts_at: Start of the interval (inclusive).
        ends_at: End of the interval (exclusive).
        created_by: Author.
        comment: Why.
    """

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        if not self.matchers:
            raise InvalidInput("silence.matchers: at least one matcher is required")
        if all(m.matches({}) for m in self.matchers):
            raise InvalidInput(
                "silence.matchers: at least one matcher must not match the empty label set"
            )
        if self.ends_at <= self.starts_at:
            raise InvalidInput("silence.ends_at: must be after starts_at")

    def state(self, now: datetime) -> SilenceState:
        """Return the state at ``now``."""
        if now < self.starts_at:
            return SilenceState.PENDING
        if now < self.ends_at:
            return SilenceState.ACTIVE
        return SilenceState.EXPIRED

    def mutes(self, labels: LabelSet, now: datetime) -> bool:
        """Return whether this silence mutes ``labels`` at ``now``."""
        return self.state(now) is SilenceState.ACTIVE and matches_all(self.matchers, labels)


def silenced_by(silences: Iterable[Silence], labels: LabelSet, now: datetime) -> list[str]:
    """Return the ids of the silences that mute ``labels`` at ``now`` (sorted)."""
    return sorted(s.id for s in silences if s.mutes(labels, now))
