"""The notification decision on a manual clock (METHODS.md §1.12 oracle; Alertmanager
`notify/notify_test.go` TestDedupStageNeedsUpdate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.alerts.grouping import AlertGroup, group_alerts
from llmpulse.alerts.model import Alert
from llmpulse.alerts.notify import LogEntry, NotificationLog, Reason, should_notify
from llmpulse.alerts.routing import Route, RouteSpec, build_route
from llmpulse.clock import ManualClock

T0 = datetime(2026, 11, 14, tzinfo=UTC)
S = timedelta(seconds=1)


def _root(send_resolved: bool = True) -> Route:
    return build_route(
        RouteSpec(receiver="oncall", group_by=("monitor",), send_resolved=send_resolved)
    )


def _alert(name: str, start: int, end: int | None = None) -> Alert:
    return Alert(
        {"monitor": "latency", "series": name},
        T0 + start * S,
        None if end is None else T0 + end * S,
    )


def _run(
    root: Route, arrivals: dict[int, list[Alert]], until: int, muted: frozenset[str] = frozenset()
) -> list[tuple[int, Reason, list[str], list[str]]]:
    """Feed arrivals on a 1 s manual clock; return the notifications sent (second, why, sets)."""
    clock = ManualClock(T0)
    log = NotificationLog()
    groups: dict[str, AlertGroup] = {}
    sent: list[tuple[int, Reason, list[str], list[str]]] = []
    names: dict[str, str] = {}
    for second in range(until + 1):
        for alert in arrivals.get(second, []):
            names[alert.fingerprint] = alert.labels["series"]
        group_alerts(root, arrivals.get(second, []), clock.now(), groups)
        for group in groups.values():
            d = should_notify(group, log, clock.now(), muted)
            if d.notify:
                log.record(d.entry(group.route.opts.receiver, group.key))
                sent.append(
                    (
                        second,
                        d.reason,
                        sorted(names[f] for f in d.firing),
                        sorted(names[f] for f in d.resolved),
                    )
                )
        clock.advance(S)
    return sent


def test_methods_oracle_group_wait_interval_and_repeat() -> None:
    # A at 0 -> sent at 30 s; B joins at 60 -> sent at 330 s with A and B; unchanged ->
    # re-sent at the first tick >= 330 s + 4 h = 14 730 s.
    sent = _run(_root(), {0: [_alert("A", 0)], 60: [_alert("B", 60)]}, until=14_730)
    assert sent == [
        (30, Reason.NEW_GROUP, ["A"], []),
        (330, Reason.NEW_FIRING, ["A", "B"], []),
        (14_730, Reason.REPEAT, ["A", "B"], []),
    ]


def test_resolved_notifications() -> None:
    arrivals = {
        0: [_alert("A", 0), _alert("B", 0)],
        400: [_alert("A", 0, 400)],
        700: [_alert("B", 0, 700)],
    }
    assert _run(_root(), arrivals, until=1000) == [
        (30, Reason.NEW_GROUP, ["A", "B"], []),
        (630, Reason.NEW_RESOLVED, ["B"], ["A"]),
        (930, Reason.ALL_RESOLVED, [], ["A", "B"]),
    ]
    # without send_resolved a partial resolution waits, but "all resolved" is still sent
    assert _run(_root(send_resolved=False), arrivals, until=1000) == [
        (30, Reason.NEW_GROUP, ["A", "B"], []),
        (930, Reason.ALL_RESOLVED, [], ["A", "B"]),
    ]


def test_alert_that_fires_and_resolves_within_group_wait_is_never_sent() -> None:
    assert _run(_root(), {0: [_alert("A", 0, 10)]}, until=2000) == []


def test_muted_alerts_are_left_out() -> None:
    a, b = _alert("A", 0), _alert("B", 0)
    sent = _run(_root(), {0: [a, b]}, until=40, muted=frozenset({b.fingerprint}))
    assert sent == [(30, Reason.NEW_GROUP, ["A"], [])]
    assert _run(_root(), {0: [a]}, until=40, muted=frozenset({a.fingerprint})) == []


def _group(*alerts: Alert) -> AlertGroup:
    (group,) = group_alerts(_root(), alerts, T0).values()
    return group


@pytest.mark.parametrize(
    ("last_firing", "last_resolved", "firing", "resolved", "last_at", "want"),
    [
        (None, None, {"A"}, set(), 0, Reason.NEW_GROUP),
        (None, None, set(), {"A"}, 0, Reason.NOTHING_FIRING),
        ({"A"}, set(), {"A", "B"}, set(), 30, Reason.NEW_FIRING),
        ({"A"}, set(), {"A"}, set(), 30, Reason.UNCHANGED),
        ({"A", "B"}, set(), {"A"}, {"B"}, 30, Reason.NEW_RESOLVED),
        ({"A"}, {"B"}, {"A"}, {"B"}, 30, Reason.UNCHANGED),
        ({"A"}, set(), set(), {"A"}, 30, Reason.ALL_RESOLVED),
        (set(), {"A"}, set(), {"A"}, 30, Reason.NOTHING_FIRING),
        ({"A"}, set(), {"A"}, set(), 330 - 4 * 3600, Reason.REPEAT),
        ({"A"}, set(), {"A"}, set(), 630 - 4 * 3600, Reason.UNCHANGED),
    ],
)
def test_needs_update_table(
    last_firing: set[str] | None,
    last_resolved: set[str] | None,
    firing: set[str],
    resolved: set[str],
    last_at: int,
    want: Reason,
) -> None:
    alerts = {n: _alert(n, 0, 1 if n in resolved else None) for n in firing | resolved}
    group = _group(*alerts.values())
    group.created_at = T0 - 300 * S  # ticks at -270, 30, 330, ...
    log = NotificationLog()
    if last_firing is not None:
        fp = {n: _alert(n, 0).fingerprint for n in (last_firing | (last_resolved or set()))}
        log.record(
            LogEntry(
                "oncall",
                group.key,
                T0 + last_at * S,
                frozenset(fp[n] for n in last_firing),
                frozenset(fp[n] for n in last_resolved or set()),
            )
        )
    now = T0 + 330 * S  # the decision is for the 330 s tick
    assert should_notify(group, log, now).reason is want


def test_one_notification_per_tick_and_none_during_group_wait() -> None:
    group = _group(_alert("A", 0))
    log = NotificationLog()
    d = should_notify(group, log, T0 + 29 * S)
    assert (d.notify, d.reason, d.tick, d.next_tick) == (
        False,
        Reason.GROUP_WAIT,
        None,
        T0 + 30 * S,
    )
    with pytest.raises(ValueError, match="group_wait"):
        d.entry("oncall", group.key)
    d = should_notify(group, log, T0 + 45 * S)  # a late flush belongs to the 30 s tick
    assert (d.notify, d.tick, d.next_tick) == (True, T0 + 30 * S, T0 + 330 * S)
    log.record(d.entry("oncall", group.key))
    assert should_notify(group, log, T0 + 100 * S).reason is Reason.ALREADY_FLUSHED
