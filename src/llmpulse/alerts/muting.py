"""Which alerts of a group are muted at an instant: by an active silence or by inhibition."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from llmpulse.alerts.grouping import AlertGroup
from llmpulse.alerts.inhibition import InhibitRule, inhibited_by
from llmpulse.alerts.model import Alert
from llmpulse.alerts.silences import Silence, silenced_by


def muted(
    group: AlertGroup,
    silences: Iterable[Silence],
    rules: Iterable[InhibitRule],
    alerts: Iterable[Alert],
    now: datetime,
) -> frozenset[str]:
    """Return the fingerprints of ``group``'s alerts muted at ``now``.

    Args:
        group: The group whose alerts are checked.
        silences: All silences (only active ones mute).
        rules: Inhibition rules.
        alerts: Every current alert, the possible inhibition sources.
        now: The instant.

    Returns:
        Fingerprints to pass to `notify.should_notify` as ``muted``.
    """
    silence_list, rule_list, pool = list(silences), list(rules), list(alerts)
    return frozenset(
        fp
        for fp, alert in group.alerts.items()
        if silenced_by(silence_list, alert.labels, now)
        or inhibited_by(rule_list, alert.labels, pool, now) is not None
    )
