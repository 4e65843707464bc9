"""Silences and inhibition feeding the notification decision, on a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmpulse.alerts.grouping import group_alerts
from llmpulse.alerts.inhibition import InhibitRule
from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.model import Alert
from llmpulse.alerts.muting import muted
from llmpulse.alerts.notify import NotificationLog, Reason, should_notify
from llmpulse.alerts.routing import RouteSpec, build_route
from llmpulse.alerts.silences import Silence
from llmpulse.clock import ManualClock

T0 = datetime(2026, 11, 14, tzinfo=UTC)
S = timedelta(seconds=1)


def test_critical_inhibits_warning_and_silence_mutes_until_it_expires() -> None:
    clock = ManualClock(T0)
    root = build_route(RouteSpec(receiver="oncall", group_by=("monitor",)))
    crit = Alert({"monitor": "latency", "region": "eu", "severity": "critical"}, T0)
    warn = Alert({"monitor": "latency", "region": "eu", "severity": "warning"}, T0)
    us = Alert({"monitor": "latency", "region": "us", "severity": "warning"}, T0)
    rule = InhibitRule(
        (parse_matcher("severity=critical"),), (parse_matcher("severity=warning"),), ("region",)
    )
    silence = Silence("s1", (parse_matcher("region=us"),), T0, T0 + 100 * S)
    (group,) = group_alerts(root, [crit, warn, us], clock.now()).values()
    log = NotificationLog()

    clock.advance(30 * S)
    mute = muted(group, [silence], [rule], [crit, warn, us], clock.now())
    assert mute == {warn.fingerprint, us.fingerprint}
    d = should_notify(group, log, clock.now(), mute)
    assert (d.reason, d.firing) == (Reason.NEW_GROUP, {crit.fingerprint})
    log.record(d.entry("oncall", group.key))

    clock.advance(300 * S)  # tick at 330 s: the silence expired at 100 s
    mute = muted(group, [silence], [rule], [crit, warn, us], clock.now())
    assert mute == {warn.fingerprint}
    d = should_notify(group, log, clock.now(), mute)
    assert (d.reason, d.firing) == (Reason.NEW_FIRING, {crit.fingerprint, us.fingerprint})
