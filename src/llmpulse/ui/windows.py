"""Time windows of the dashboard and analysis pages: ``window`` and ``bucket`` query values.

Windows end at the project's last span (not at the wall clock), so a project whose data
stopped arriving, or the demo data, still shows: ``all`` is the project's whole data window,
``24h``/``7d``/``30d`` the last day, week or month of it. ``bucket=auto`` picks 5m for a day
or less, 1h up to a week, 1d beyond.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.store.api import TimeRange

WINDOWS: dict[str, timedelta | None] = {
    "all": None,
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
WINDOW_LABELS = {"all": "whole data window", "24h": "last 24 h", "7d": "last 7 days",
                 "30d": "last 30 days"}  # fmt: skip
BUCKETS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
BUCKET_CHOICES = ("auto", *BUCKETS)
END_SLACK = timedelta(milliseconds=1)  # the range is half-open: keep the last span inside


@dataclass(frozen=True, slots=True)
class Window:
    """A resolved window: its key, bounds (None without data) and bucket."""

    key: str
    start: datetime | None
    end: datetime | None
    bucket_key: str
    bucket: timedelta

    @property
    def has_data(self) -> bool:
        """False when the project has no spans (nothing to draw)."""
        return self.start is not None and self.end is not None

    @property
    def label(self) -> str:
        """How the picker names this window."""
        return WINDOW_LABELS[self.key]

    def time_range(self, bounded: bool = True) -> TimeRange:
        """The store's range; with ``bounded=False`` the ``all`` window is unbounded."""
        if not bounded and self.key == "all":
            return TimeRange()
        return TimeRange(self.start, self.end)

    def trace_params(self) -> list[tuple[str, str]]:
        """``start``/``end`` for the traces page filter (UTC, as a datetime input sends)."""
        if self.key == "all" or self.start is None or self.end is None:
            return []
        fmt = "%Y-%m-%dT%H:%M:%S"
        return [("start", self.start.strftime(fmt)), ("end", (self.end + END_SLACK).strftime(fmt))]


def auto_bucket(span: timedelta) -> str:
    """5m up to a day, 1h up to a week (plus a little), 1d beyond."""
    if span <= timedelta(days=1, hours=1):
        return "5m"
    if span <= timedelta(days=8):
        return "1h"
    return "1d"


def resolve_window(window: str, bucket: str, first_seen: object, last_seen: object) -> Window:
    """Read ``window`` and ``bucket`` against the project's first and last span times.

    Raises:
        InvalidInput: an unknown window or bucket name.
    """
    key = (window or "all").strip().lower()
    bkey = (bucket or "auto").strip().lower()
    errors = []
    if key not in WINDOWS:
        errors.append(FieldError("window", f"{window!r} is not one of {', '.join(WINDOWS)}"))
    if bkey not in BUCKET_CHOICES:
        errors.append(FieldError("bucket", f"{bucket!r} is not one of {', '.join(BUCKET_CHOICES)}"))
    if errors:
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)
    if not isinstance(last_seen, datetime):
        chosen = bkey if bkey != "auto" else "1h"
        return Window(key, None, None, chosen, BUCKETS[chosen])
    end = last_seen + END_SLACK
    length = WINDOWS[key]
    if length is not None:
        start = end - length
    else:
        start = first_seen if isinstance(first_seen, datetime) else end - timedelta(days=1)
    chosen = auto_bucket(end - start) if bkey == "auto" else bkey
    return Window(key, start, end, chosen, BUCKETS[chosen])
