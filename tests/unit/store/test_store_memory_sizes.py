"""The buffer pool's sizes: what `--memory-limit` takes and how DuckDB's printed sizes read."""

from __future__ import annotations

import duckdb
import pytest

from llmpulse.store.memory import is_memory_limit, size_bytes


@pytest.mark.parametrize("value", ["512MB", "2GB", "1.5GiB", "300 mb", "64KiB"])
def test_a_number_and_a_unit_is_a_memory_limit(value: str) -> None:
    assert is_memory_limit(value)


@pytest.mark.parametrize("value", ["lots", "512", "MB", "-1GB", "1TB", "512MB; SET x", ""])
def test_anything_else_is_not(value: str) -> None:
    assert not is_memory_limit(value)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("300MB", 300 * 1000**2), ("1.5GiB", 1.5 * 2**30), ("64KiB", 64 * 1024), ("2GB", 2e9)],
)
def test_duckdbs_printed_limit_reads_back_as_the_bytes_set(setting: str, expected: float) -> None:
    assert size_bytes(setting) == pytest.approx(expected)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{setting}'")
    (printed,) = con.execute("SELECT current_setting('memory_limit')").fetchone() or ("",)
    # DuckDB cuts to one decimal of its unit: 2GB (1.86 GiB) prints as 1.8 GiB.
    tenth = size_bytes("0.1 " + str(printed).split()[1])
    assert expected - tenth < size_bytes(str(printed)) <= expected


def test_bytes_and_unknown_units() -> None:
    assert size_bytes("0 bytes") == 0
    assert size_bytes("512MB") == 512 * 1000**2
    with pytest.raises(ValueError, match="not a size"):
        size_bytes("12 parsecs")
