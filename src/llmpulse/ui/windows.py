"""Time windows of every project page: ``window``, ``start``, ``end`` and ``bucket`` values.

Windows end at the project's last span (not at the wall clock), so a project whose data
stopped arriving, or the demo data, still shows: ``all`` is the project's whole data window,
``15m``/``1h``/``6h``/``24h``/``7d``/``30d`` the last stretch of it. An absolute ``start``
and/or ``end`` (ISO 8601, UTC when no offset is given) wins over ``window`` and makes a
``custom`` window (an open side falls back to the project's first or last span).
``bucket=auto`` picks 1m up to an hour, 5m up to a day, 1h up to a week, 1d beyond.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.store.api import TimeRange

WINDOWS: dict[str, timedelta | None] = {
    "all": None,
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
WINDOW_LABELS = {"all": "whole data window", "15m": "last 15 min", "1h": "last hour",
                 "6h": "last 6 h", "24h": "last 24 h", "7d": "last 7 days",
                 "30d": "last 30 days"}  # fmt: skip
CUSTOM = "custom"
BUCKETS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
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
        if self.key == CUSTOM:
            return f"{local_text(self.start)} → {local_text(self.end)}"
        return WINDOW_LABELS[self.key]

    def page_params(self) -> list[tuple[str, str]]:
        """The query values that select this window on another page (none for ``all``)."""
        if self.key == CUSTOM:
            return [("start", local_text(self.start)), ("end", local_text(self.end))]
        return [] if self.key == "all" else [("window", self.key)]

    def time_range(self, bounded: bool = True) -> TimeRange:
        """The store's range; with ``bounded=False`` the ``all`` window is unbounded."""
        if not bounded and self.key == "all":
            return TimeRange()
        return TimeRange(self.start, self.end)

    def trace_params(self) -> list[tuple[str, str]]:
        """``start``/``end`` for the traces page filter (UTC, as a datetime input sends)."""
        if self.key == "all" or self.start is None or self.end is None:
            return []
        return [("start", local_text(self.start)), ("end", local_text(self.end))]


def local_text(t: datetime | None) -> str:
    """``2024-05-01T12:00:03.250``: UTC to the millisecond (rounded up), no offset, as an HTML
    ``datetime-local`` input shows it; the traces filter reads it back as UTC."""
    if t is None:
        return ""
    ms = -(-t.microsecond // 1000)
    t = t.replace(microsecond=0) + timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def auto_bucket(span: timedelta) -> str:
    """1m up to an hour, 5m up to a day, 1h up to a week (each plus a little), 1d beyond."""
    if span <= timedelta(hours=1, minutes=5):
        return "1m"
    if span <= timedelta(days=1, hours=1):
        return "5m"
    if span <= timedelta(days=8):
        return "1h"
    return "1d"


def parse_instant(raw: str, field: str, errors: list[FieldError]) -> datetime | None:
    """An ISO 8601 instant (UTC when no offset is given); a bad one is added to ``errors``."""
    if not raw.strip():
        return None
    try:
        t = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.append(FieldError(field, f"{raw!r} is not a date-time like 2024-05-01T12:00"))
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def resolve_window(
    window: str, bucket: str, first_seen: object, last_seen: object,
    start: str = "", end: str = "",
) -> Window:  # fmt: skip
    """Read ``window``, ``start``, ``end`` and ``bucket`` against the project's span times.

    Raises:
        InvalidInput: an unknown window or bucket name, an unreadable instant, or an end
            that is not after the start.
    """
    key = (window or "all").strip().lower()
    bkey = (bucket or "auto").strip().lower()
    errors: list[FieldError] = []
    t_start = parse_instant(start, "start", errors)
    t_end = parse_instant(end, "end", errors)
    custom = bool(start.strip() or end.strip())
    if key not in WINDOWS and not custom:
        errors.append(FieldError("window", f"{window!r} is not one of {', '.join(WINDOWS)}"))
    if bkey not in BUCKET_CHOICES:
        errors.append(FieldError("bucket", f"{bucket!r} is not one of {', '.join(BUCKET_CHOICES)}"))
    if t_start and t_end and t_end <= t_start:
        errors.append(FieldError("end", "must be after start"))
    if errors:
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)
    if custom:
        return _custom(t_start, t_end, bkey, first_seen, last_seen)
    if not isinstance(last_seen, datetime):
        chosen = bkey if bkey != "auto" else "1h"
        return Window(key, None, None, chosen, BUCKETS[chosen])
    end_at = last_seen + END_SLACK
    length = WINDOWS[key]
    if length is not None:
        start_at = end_at - length
    else:
        start_at = first_seen if isinstance(first_seen, datetime) else end_at - timedelta(days=1)
    chosen = auto_bucket(end_at - start_at) if bkey == "auto" else bkey
    return Window(key, start_at, end_at, chosen, BUCKETS[chosen])


def _custom(
    start: datetime | None, end: datetime | None, bkey: str, first_seen: object, last_seen: object
) -> Window:
    """An absolute window; an open side is the project's first or last span."""
    if start is None:
        start = first_seen if isinstance(first_seen, datetime) else None
    if end is None:
        end = last_seen + END_SLACK if isinstance(last_seen, datetime) else None
    if start is None or end is None:
        chosen = bkey if bkey != "auto" else "1h"
        return Window(CUSTOM, start, end, chosen, BUCKETS[chosen])
    if end <= start:  # a start after the project's last span: an hour with nothing in it
        end = start + timedelta(hours=1)
    chosen = auto_bucket(end - start) if bkey == "auto" else bkey
    return Window(CUSTOM, start, end, chosen, BUCKETS[chosen])
