"""Silences, modelled on Alertmanager's `silence/silence_test.go` (state and mute cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.silences import Silence, SilenceState, silenced_by
from llmpulse.clock import ManualClock
from llmpulse.domain.errors import InvalidInput

T0 = datetime(2026, 11, 14, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _silence(sid: str, *matchers: str, start: int = 10, end: int = 20) -> Silence:
    return Silence(
        sid,
        tuple(parse_matcher(m) for m in matchers),
        T0 + start * MIN,
        T0 + end * MIN,
        created_by="ops",
        comment="maintenance",
    )


@pytest.mark.parametrize(
    ("minute", "state"),
    [
        (0, SilenceState.PENDING),
        (9, SilenceState.PENDING),
        (10, SilenceState.ACTIVE),  # start inclusive
        (19, SilenceState.ACTIVE),
        (20, SilenceState.EXPIRED),  # end exclusive
        (500, SilenceState.EXPIRED),
    ],
)
def test_silence_state_over_time(minute: int, state: SilenceState) -> None:
    clock = ManualClock(T0)
    clock.advance(minute * MIN)
    assert _silence("s1", "svc=api").state(clock.now()) is state


def test_silence_mutes_only_while_active_and_matching() -> None:
    clock = ManualClock(T0)
    silences = [
        _silence("s1", "svc=api"),
        _silence("s2", 'svc=~"api|web"', "severity!=page", start=15, end=30),
        _silence("s3", "svc=db", start=0, end=100),
    ]
    api_warn = {"svc": "api", "severity": "warning"}
    api_page = {"svc": "api", "severity": "page"}
    timeline = [
        (0, api_warn, []),
        (10, api_warn, ["s1"]),
        (15, api_warn, ["s1", "s2"]),
        (15, api_page, ["s1"]),
        (20, api_warn, ["s2"]),
        (20, api_page, []),
        (30, api_warn, []),
        (30, {"svc": "db"}, ["s3"]),
        (100, {"svc": "db"}, []),
    ]
    for minute, labels, want in timeline:
        now = T0 + minute * MIN
        if clock.now() < now:
            clock.advance(now - clock.now())
        assert silenced_by(silences, labels, clock.now()) == want, (minute, labels)


@pytest.mark.parametrize(
    ("matchers", "start", "end", "field"),
    [
        ((), 0, 10, "silence.matchers"),
        (('svc=~".*"',), 0, 10, "silence.matchers"),  # would silence everything
        (("svc!=api",), 0, 10, "silence.matchers"),  # matches the empty label set
        (("svc=api",), 10, 10, "silence.ends_at"),
        (("svc=api",), 10, 5, "silence.ends_at"),
    ],
)
def test_invalid_silence_names_the_field(
    matchers: tuple[str, ...], start: int, end: int, field: str
) -> None:
    with pytest.raises(InvalidInput, match=field):
        _silence("bad", *matchers, start=start, end=end)
