"""One duration parser for REST, UI and CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [("45s", timedelta(seconds=45)), ("5m", timedelta(minutes=5)), ("24H", timedelta(hours=24)),
     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), ("300", timedelta(seconds=300)),
     (" 1h ", timedelta(hours=1))],
)  # fmt: skip
def test_parse_duration_reads_units_and_plain_seconds(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "bucket") == expected


@pytest.mark.parametrize("text", ["", "h", "0m", "-1h", "1y", "1.5h"])
def test_parse_duration_names_the_field_when_malformed(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_duration(text, "bucket")
    assert err.value.errors[0].path == "bucket"


def test_parse_duration_can_require_a_unit() -> None:
    with pytest.raises(InvalidInput):
        parse_duration("24", "--since", unit_required=True)
    assert parse_duration("24h", "--since", unit_required=True) == timedelta(hours=24)
