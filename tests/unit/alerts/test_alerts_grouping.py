"""Grouping and fingerprint dedup (Alertmanager `dispatch/dispatch_test.go` TestGroups style)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.alerts.grouping import group_alerts, group_key
from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.model import Alert, fingerprint
from llmpulse.alerts.routing import RouteSpec, build_route
from llmpulse.domain.errors import InvalidInput

T0 = datetime(2026, 11, 14, tzinfo=UTC)
MIN = timedelta(minutes=1)

ROOT = build_route(
    RouteSpec(
        receiver="default",
        group_by=("monitor",),
        routes=(
            RouteSpec(
                receiver="oncall", matchers=(parse_matcher("severity=page"),), continue_=True
            ),
            RouteSpec(
                receiver="all", matchers=(parse_matcher('severity=~".+"'),), group_by=("...",)
            ),
        ),
    )
)


def _alert(**labels: str) -> Alert:
    return Alert(labels, T0)


def test_fingerprint_depends_on_labels_only_not_order() -> None:
    a = fingerprint({"a": "1", "b": "2"})
    assert a == fingerprint({"b": "2", "a": "1"})
    assert a != fingerprint({"a": "1", "b": "3"})
    assert fingerprint({"a": "1b", "": ""}) != fingerprint({"a": "1", "b": ""})
    assert Alert({"a": "1", "b": "2"}, T0, annotations={"x": "y"}).fingerprint == a


def test_alerts_split_by_group_labels_and_routes() -> None:
    alerts = [
        _alert(monitor="latency", severity="page", region="eu"),
        _alert(monitor="latency", severity="page", region="us"),
        _alert(monitor="errors", severity="page", region="eu"),
        _alert(monitor="errors", region="eu"),
    ]
    groups = group_alerts(ROOT, alerts, T0)
    summary = sorted(
        (g.route.opts.receiver, tuple(sorted(g.labels.items())), len(g.alerts))
        for g in groups.values()
    )
    assert summary == [
        ("all", (("monitor", "errors"), ("region", "eu"), ("severity", "page")), 1),
        ("all", (("monitor", "latency"), ("region", "eu"), ("severity", "page")), 1),
        ("all", (("monitor", "latency"), ("region", "us"), ("severity", "page")), 1),
        ("default", (("monitor", "errors"),), 1),
        ("oncall", (("monitor", "errors"),), 1),
        ("oncall", (("monitor", "latency"),), 2),
    ]


def test_group_key_is_stable_and_distinct() -> None:
    oncall = ROOT.routes[0]
    k = group_key(oncall, {"monitor": "latency"})
    assert k == group_key(
        build_route(
            RouteSpec(
                receiver="default",
                group_by=("monitor",),
                routes=(
                    RouteSpec(
                        receiver="oncall",
                        matchers=(parse_matcher("severity=page"),),
                        continue_=True,
                    ),
                ),
            )
        ).routes[0],
        {"monitor": "latency"},
    )
    # golden: the key must not change between releases (it is the PagerDuty dedup key)
    assert oncall.key == '{}/{severity="page"}/0'
    assert k == "4ddd8d211f1e213682eec743790c1bf3"
    assert k != group_key(oncall, {"monitor": "errors"})
    assert k != group_key(ROOT, {"monitor": "latency"})
    assert len({k, group_key(ROOT.routes[1], {"monitor": "latency"})}) == 2


def test_repeated_fingerprint_updates_the_series_instead_of_duplicating() -> None:
    first = Alert({"monitor": "latency", "severity": "page"}, T0)
    resolved = Alert({"monitor": "latency", "severity": "page"}, T0 + MIN, T0 + 5 * MIN)
    groups = group_alerts(ROOT, [first], T0)
    group_alerts(ROOT, [resolved], T0 + 5 * MIN, groups)
    oncall = next(g for g in groups.values() if g.route.opts.receiver == "oncall")
    assert len(oncall.alerts) == 1
    (alert,) = oncall.alerts.values()
    assert alert.starts_at == T0
    assert alert.ends_at == T0 + 5 * MIN
    assert oncall.created_at == T0
    assert list(oncall.firing(T0 + 4 * MIN)) == [alert.fingerprint]
    assert list(oncall.resolved(T0 + 5 * MIN)) == [alert.fingerprint]


def test_alert_rejects_end_before_start_and_merge_of_other_series() -> None:
    with pytest.raises(InvalidInput, match="ends_at"):
        Alert({"a": "1"}, T0, T0 - MIN)
    with pytest.raises(InvalidInput, match="merge"):
        _alert(a="1").merge(_alert(a="2"))
