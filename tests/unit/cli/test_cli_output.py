"""Table formatting, durations and error text of the admin commands (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from llmpulse.cli.main import app
from llmpulse.cli.output import (
    describe_error,
    format_attrs,
    format_table,
    format_value,
    parse_since,
    time_window,
)
from llmpulse.clock import ManualClock
from llmpulse.domain.errors import FieldError
from llmpulse.sdk.errors import LlmpulseApiError


def test_format_value_shows_nulls_bools_and_floats_compactly() -> None:
    assert format_value(None) == "-"
    assert format_value(True) == "true"
    assert format_value(0.000123456789) == "0.000123457"
    assert format_value(2545.3575) == "2545.36"
    assert format_value(70701.0) == "70701"
    assert format_value(12345678.25) == "12345678.2"
    assert format_value(float("nan")) == "nan"
    assert format_value(["a", 1]) == "a,1"
    assert format_value("eu-west") == "eu-west"


def test_format_table_aligns_columns_and_right_aligns_numbers() -> None:
    rows = [
        {"region": "eu-west", "n": 5, "rate": 0.25},
        {"region": "us", "n": 120, "rate": None},
    ]
    text = format_table(["region", "n", "rate"], rows)
    assert text.splitlines() == [
        "region   n    rate",
        "eu-west    5  0.25",
        "us       120     -",
    ]


def test_format_table_prints_only_the_header_when_there_are_no_rows() -> None:
    assert format_table(["model", "spans"], []) == "model  spans"


def test_format_attrs_lists_the_named_figures_present() -> None:
    attrs = {"signal": "hold", "parity_ratio": 0.5, "other": 1}
    assert format_attrs(attrs, ["signal", "parity_ratio", "missing"]) == (
        "signal: hold\nparity_ratio: 0.5"
    )


def test_describe_error_lists_each_field_error() -> None:
    exc = LlmpulseApiError(
        400, "metric 'bogus': unknown field", [FieldError("metric[0]", "unknown field")]
    )
    assert describe_error(exc) == (
        "error: metric 'bogus': unknown field (HTTP 400)\n  metric[0]: unknown field"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7)),
     ("2w", timedelta(weeks=2)), ("45s", timedelta(seconds=45))],
)  # fmt: skip
def test_parse_since_reads_durations(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "24", "h", "1y", "-1h"])
def test_parse_since_is_a_usage_error_when_malformed(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_since(text)


def test_time_window_counts_back_from_the_clock_when_since_is_given() -> None:
    clock = ManualClock(datetime(2025, 3, 1, 12, tzinfo=UTC))
    assert time_window("2h", None, None, clock) == ("2025-03-01T10:00:00+00:00", None)
    assert time_window(None, "2025-03-01T00:00:00Z", "2025-03-02", clock) == (
        "2025-03-01T00:00:00Z",
        "2025-03-02",
    )


def test_time_window_refuses_since_with_start_and_bad_instants() -> None:
    with pytest.raises(typer.BadParameter):
        time_window("2h", "2025-03-01", None)
    with pytest.raises(typer.BadParameter):
        time_window(None, None, "yesterday")


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        (["explanations", "policy", "apply"], "kind: ExplainPolicy\nproject: p\ntarget: x\n",
         "target: Input should be 'predictions' or 'answers'"),
        (["explanations", "reason-codes", "apply"], "kind: ReasonCodes\n",
         "project: Field required"),
        (["evals", "apply"], "kind: EvalRuleList\nproject: p\nrules: 3\n", "rules: Input should"),
        (["explanations", "policy", "apply"], "kind: [\n", "while parsing"),
    ],
)  # fmt: skip
def test_yaml_file_commands_exit_1_naming_the_file_and_the_bad_field(
    tmp_path: Path, command: list[str], text: str, expected: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, [*command, "-f", str(path)])
    assert result.exit_code == 1
    assert f"error: {path}: " in result.stderr
    assert expected in result.stderr
