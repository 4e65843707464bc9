"""The notification decision: when a group's receiver is told, and about which alerts.

Alertmanager's dispatcher and dedup stage (`dispatch/dispatch.go`, `notify/notify.go`
`DedupStage.needsUpdate`), on flush ticks. A group's ticks are `created_at + group_wait`,
then every `group_interval`. At a tick the receiver is notified when, compared with the last
notification in the log:

- nothing was sent yet and something fires (a group of only resolved alerts stays silent);
- an alert fires that was not firing in the last notification;
- every alert has resolved and the last notification had firing alerts (sent whatever
  `send_resolved` says, so the log is cleared);
- `send_resolved` and an alert resolved that the last notification did not list as resolved;
- otherwise, the firing set is unchanged and `repeat_interval` has passed since the last one.

Semantics of time: the log records the tick a notification belongs to, and the repeat test
is `tick - last >= repeat_interval` (METHODS.md §1.12 "≥-semantics"), so with the defaults a
group notified at the 330 s tick re-notifies at the 14 730 s tick. Alertmanager compares
against the recorded wall-clock send time and so may send one tick later.

Muted alerts (silenced or inhibited) are left out of both sets by the caller's ``muted``.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from llmpulse.alerts.grouping import AlertGroup


class Reason(StrEnum):
    """Why `should_notify` decided as it did."""

    GROUP_WAIT = "group_wait"
    ALREADY_FLUSHED = "already_flushed"
    NOTHING_FIRING = "nothing_firing"
    NEW_GROUP = "new_group"
    NEW_FIRING = "new_firing"
    ALL_RESOLVED = "all_resolved"
    NEW_RESOLVED = "new_resolved"
    REPEAT = "repeat"
    UNCHANGED = "unchanged"


SENDING = frozenset(
    {Reason.NEW_GROUP, Reason.NEW_FIRING, Reason.ALL_RESOLVED, Reason.NEW_RESOLVED, Reason.REPEAT}
)


@dataclass(frozen=True)
class LogEntry:
    """One notification that was sent.

    Attributes:
        receiver: Who got it.
        group_key: The group it was about.
        sent_at: The flush tick it belongs to.
        firing: Fingerprints it listed as firing.
        resolved: Fingerprints it listed as resolved.
    """

    receiver: str
    group_key: str
    sent_at: datetime
    firing: frozenset[str]
    resolved: frozenset[str]


@dataclass
class NotificationLog:
    """The last notification per (receiver, group key), in memory."""

    entries: dict[tuple[str, str], LogEntry] = field(default_factory=dict)

    def last(self, receiver: str, group_key: str) -> LogEntry | None:
        """Return the latest entry for the pair, if any."""
        return self.entries.get((receiver, group_key))

    def record(self, entry: LogEntry) -> None:
        """Store ``entry`` as the latest for its pair."""
        self.entries[(entry.receiver, entry.group_key)] = entry


@dataclass(frozen=True)
class Decision:
    """The outcome of `should_notify`.

    Attributes:
        notify: Whether to send now.
        reason: Why.
        tick: The flush tick the decision belongs to (``None`` during group_wait).
        next_tick: The next flush tick after ``now``.
        firing: Fingerprints to list as firing.
        resolved: Fingerprints to list as resolved.
    """

    notify: bool
    reason: Reason
    tick: datetime | None
    next_tick: datetime
    firing: frozenset[str]
    resolved: frozenset[str]

    def entry(self, receiver: str, group_key: str) -> LogEntry:
        """Return the log entry to record once the notification was delivered."""
        if self.tick is None:
            raise ValueError("no notification belongs to a group still in group_wait")
        return LogEntry(receiver, group_key, self.tick, self.firing, self.resolved)


def flush_ticks(group: AlertGroup, now: datetime) -> tuple[datetime | None, datetime]:
    """Return (the latest flush tick at or before ``now`` or ``None``, the next one after)."""
    opts = group.route.opts
    first = group.created_at + opts.group_wait
    if now < first:
        return None, first
    k = (now - first) // opts.group_interval
    tick = first + k * opts.group_interval
    return tick, tick + opts.group_interval


def should_notify(
    group: AlertGroup, log: NotificationLog, now: datetime, muted: Set[str] = frozenset()
) -> Decision:
    """Decide whether ``group``'s receiver is notified at ``now``.

    Args:
        group: The group, with its route's timers.
        log: The notification log.
        now: The current instant (from the clock); the decision is for the latest tick ≤ now.
        muted: Fingerprints silenced or inhibited; left out of the notification.

    Returns:
        The decision, with the firing and resolved sets to send and record.
    """
    opts = group.route.opts
    tick, next_tick = flush_ticks(group, now)
    at = tick or now
    firing = frozenset(fp for fp in group.firing(at) if fp not in muted)
    resolved = frozenset(fp for fp in group.resolved(at) if fp not in muted)

    def decide(reason: Reason) -> Decision:
        return Decision(reason in SENDING, reason, tick, next_tick, firing, resolved)

    if tick is None:
        return decide(Reason.GROUP_WAIT)
    last = log.last(opts.receiver, group.key)
    if last is not None and last.sent_at >= tick:
        return decide(Reason.ALREADY_FLUSHED)
    if last is None:
        return decide(Reason.NEW_GROUP if firing else Reason.NOTHING_FIRING)
    if not firing <= last.firing:
        return decide(Reason.NEW_FIRING)
    if not firing:
        return decide(Reason.ALL_RESOLVED if last.firing else Reason.NOTHING_FIRING)
    if opts.send_resolved and not resolved <= last.resolved:
        return decide(Reason.NEW_RESOLVED)
    if tick - last.sent_at >= opts.repeat_interval:
        return decide(Reason.REPEAT)
    return decide(Reason.UNCHANGED)
