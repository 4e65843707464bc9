"""Routing tree, modelled on Alertmanager's `dispatch/route_test.go` TestRouteMatch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.routing import Route, RouteSpec, build_route
from llmpulse.domain.errors import InvalidInput


def _m(*texts: str) -> tuple:  # type: ignore[type-arg]
    return tuple(parse_matcher(t) for t in texts)


TREE = RouteSpec(
    receiver="notify-def",
    routes=(
        RouteSpec(
            receiver="notify-A",
            matchers=_m('owner="team-A"'),
            routes=(
                RouteSpec(
                    receiver="notify-testing", matchers=_m('env="testing"'), group_by=("...",)
                ),
                RouteSpec(
                    receiver="notify-productionA",
                    matchers=_m('env="production"'),
                    group_wait=timedelta(minutes=1),
                    continue_=True,
                ),
                RouteSpec(
                    receiver="notify-productionB",
                    matchers=_m('env=~"produ.*"', 'job=~".*"'),
                    group_wait=timedelta(seconds=30),
                    group_interval=timedelta(minutes=5),
                    repeat_interval=timedelta(hours=1),
                    group_by=("job",),
                ),
            ),
        ),
        RouteSpec(
            receiver="notify-BC",
            matchers=_m('owner=~"team-(B|C)"'),
            group_by=("foo", "bar"),
            group_wait=timedelta(minutes=2),
            repeat_interval=timedelta(hours=1),
            routes=(
                RouteSpec(
                    receiver="notify-BC-prod",
                    matchers=_m('env="production"'),
                    group_interval=timedelta(minutes=1),
                ),
            ),
        ),
        RouteSpec(
            matchers=_m('group_by="role"'),
            group_by=("role",),
            routes=(
                RouteSpec(
                    receiver="notify-testing",
                    matchers=_m('env="testing"'),
                    routes=(
                        RouteSpec(matchers=_m('wait="long"'), group_wait=timedelta(minutes=2)),
                    ),
                ),
            ),
        ),
    ),
)

S30, M1, M2, M5, H1, H4 = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(hours=1),
    timedelta(hours=4),
)

# labels -> [(receiver, group_by, group_wait, group_interval, repeat_interval), ...]
CASES = [
    ({"owner": "team-A"}, [("notify-A", (), S30, M5, H4)]),
    ({"owner": "team-A", "env": "unset"}, [("notify-A", (), S30, M5, H4)]),
    ({"owner": "team-C"}, [("notify-BC", ("foo", "bar"), M2, M5, H1)]),
    ({"owner": "team-B"}, [("notify-BC", ("foo", "bar"), M2, M5, H1)]),
    # a child inherits group_by, group_wait and repeat_interval, overrides group_interval
    ({"owner": "team-B", "env": "production"}, [("notify-BC-prod", ("foo", "bar"), M2, M1, H1)]),
    ({"owner": "team-D"}, [("notify-def", (), S30, M5, H4)]),
    ({"owner": "team-BC"}, [("notify-def", (), S30, M5, H4)]),  # regex is anchored
    ({"owner": "team-A", "env": "testing"}, [("notify-testing", ("...",), S30, M5, H4)]),
    (
        {"owner": "team-A", "env": "production"},
        [
            ("notify-productionA", (), M1, M5, H4),
            ("notify-productionB", ("job",), S30, M5, H1),
        ],
    ),
    ({"group_by": "role"}, [("notify-def", ("role",), S30, M5, H4)]),
    ({"group_by": "role", "env": "testing"}, [("notify-testing", ("role",), S30, M5, H4)]),
    (
        {"group_by": "role", "env": "testing", "wait": "long"},
        [("notify-testing", ("role",), M2, M5, H4)],
    ),
]


@pytest.mark.parametrize(("labels", "expected"), CASES)
def test_route_match_like_alertmanager(labels: dict[str, str], expected: list[tuple]) -> None:  # type: ignore[type-arg]
    root = build_route(TREE)
    got = [
        (
            r.opts.receiver,
            r.opts.group_by,
            r.opts.group_wait,
            r.opts.group_interval,
            r.opts.repeat_interval,
        )
        for r in root.match(labels)
    ]
    assert got == expected


def test_continue_false_stops_at_first_match_and_true_keeps_going() -> None:
    spec = RouteSpec(
        receiver="root",
        routes=(
            RouteSpec(receiver="a", matchers=_m("x=1")),
            RouteSpec(receiver="b", matchers=_m("x=1")),
        ),
    )
    assert [r.opts.receiver for r in build_route(spec).match({"x": "1"})] == ["a"]
    spec2 = RouteSpec(
        receiver="root",
        routes=(
            RouteSpec(receiver="a", matchers=_m("x=1"), continue_=True),
            RouteSpec(receiver="b", matchers=_m("x=1")),
            RouteSpec(receiver="c", matchers=_m("x=1")),
        ),
    )
    assert [r.opts.receiver for r in build_route(spec2).match({"x": "1"})] == ["a", "b"]


def test_route_keys_are_distinct_and_stable() -> None:
    nodes = build_route(TREE).walk()
    keys = [n.key for n in nodes]
    assert len(set(keys)) == len(keys)
    assert keys == [n.key for n in build_route(TREE).walk()]
    assert isinstance(nodes[0], Route)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (RouteSpec(), "route.receiver"),
        (RouteSpec(receiver="r", matchers=_m("a=b")), "route.matchers"),
        (RouteSpec(receiver="r", continue_=True), "route.continue"),
        (RouteSpec(receiver="r", group_wait=timedelta(seconds=-1)), "route.group_wait"),
        (
            RouteSpec(receiver="r", routes=(RouteSpec(repeat_interval=timedelta(seconds=-5)),)),
            "route.repeat_interval",
        ),
    ],
)
def test_invalid_route_names_the_field(spec: RouteSpec, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        build_route(spec)
