"""Inhibition, modelled on Alertmanager's `inhibit/inhibit_test.go`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.alerts.inhibition import InhibitRule, inhibited_by
from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.model import Alert
from llmpulse.clock import ManualClock
from llmpulse.domain.errors import InvalidInput

T0 = datetime(2026, 11, 14, tzinfo=UTC)
MIN = timedelta(minutes=1)

CRIT_MUTES_WARN = InhibitRule(
    source_matchers=(parse_matcher("severity=critical"),),
    target_matchers=(parse_matcher("severity=warning"),),
    equal=("monitor", "region"),
)


def _alert(ends: int | None = None, **labels: str) -> Alert:
    return Alert(labels, T0, None if ends is None else T0 + ends * MIN)


SOURCE = _alert(monitor="latency", region="eu", severity="critical")

# (target labels, firing sources, inhibited?)
CASES = [
    ({"monitor": "latency", "region": "eu", "severity": "warning"}, [SOURCE], True),
    ({"monitor": "latency", "region": "us", "severity": "warning"}, [SOURCE], False),
    ({"monitor": "errors", "region": "eu", "severity": "warning"}, [SOURCE], False),
    ({"monitor": "latency", "region": "eu", "severity": "info"}, [SOURCE], False),
    ({"monitor": "latency", "region": "eu", "severity": "warning"}, [], False),
    # missing label counts as empty on both sides
    (
        {"monitor": "latency", "severity": "warning"},
        [_alert(monitor="latency", severity="critical")],
        True,
    ),
    ({"monitor": "latency", "severity": "warning"}, [SOURCE], False),
]


@pytest.mark.parametrize(("target", "sources", "want"), CASES)
def test_inhibition_table(target: dict[str, str], sources: list[Alert], want: bool) -> None:
    got = inhibited_by([CRIT_MUTES_WARN], target, sources, T0)
    assert (got is not None) is want


def test_source_mutes_only_while_firing() -> None:
    clock = ManualClock(T0)
    source = _alert(ends=5, monitor="latency", region="eu", severity="critical")
    target = {"monitor": "latency", "region": "eu", "severity": "warning"}
    assert inhibited_by([CRIT_MUTES_WARN], target, [source], clock.now()) == source.fingerprint
    clock.advance(5 * MIN)
    assert inhibited_by([CRIT_MUTES_WARN], target, [source], clock.now()) is None


def test_alert_matching_both_sides_does_not_inhibit_itself_or_peers() -> None:
    # Alertmanager TestInhibitRuleMatchers "source and target both match": a rule whose source
    # and target matchers both match an alert must not let such alerts inhibit each other.
    rule = InhibitRule(
        source_matchers=(parse_matcher("s=1"),),
        target_matchers=(parse_matcher("t=1"),),
        equal=("e",),
    )
    both = _alert(s="1", t="1", e="1")
    peer = _alert(s="1", t="1", e="1", n="2")
    only_source = _alert(s="1", e="1")
    assert inhibited_by([rule], both.labels, [both], T0) is None
    assert inhibited_by([rule], both.labels, [both, peer], T0) is None
    assert inhibited_by([rule], both.labels, [only_source], T0) == only_source.fingerprint
    assert inhibited_by([rule], {"t": "1", "e": "1"}, [both], T0) == both.fingerprint


def test_rule_needs_both_sides() -> None:
    with pytest.raises(InvalidInput, match="source_matchers"):
        InhibitRule((), (parse_matcher("a=b"),))
    with pytest.raises(InvalidInput, match="target_matchers"):
        InhibitRule((parse_matcher("a=b"),), ())
