"""The event store's buffer pool takes the bound it is opened with (`--memory-limit`), keeps
it after the migrations' larger one, and reports it and its use in `stats`."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_factories import make_rag_span

from llmpulse.domain.errors import InvalidInput
from llmpulse.store.datadir import open_stores
from llmpulse.store.memory import size_bytes


@pytest.mark.parametrize(("setting", "expected"), [("300MB", 300e6), ("1.5GiB", 1.5 * 2**30)])
def test_the_store_runs_with_the_bound_it_was_opened_with(
    tmp_path: Path, setting: str, expected: float
) -> None:
    events, state = open_stores(tmp_path / "data", memory_limit=setting)
    try:
        events.append_spans([make_rag_span(i) for i in range(200)])
        (printed,) = events._query("SELECT current_setting('memory_limit')")[0]
        tenth = size_bytes("0.1 " + str(printed).split()[1])  # DuckDB prints one decimal
        assert expected - tenth < size_bytes(str(printed)) <= expected
        extra = events.stats().extra
        assert extra["memory_limit_bytes"] == expected
        assert 0 < extra["memory_bytes"] <= expected
    finally:
        state.close()
        events.close()


def test_a_bound_that_is_not_a_size_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="memory limit '1 lot' is not a size"):
        open_stores(tmp_path / "data", memory_limit="1 lot")
    events, state = open_stores(tmp_path / "data")  # the directory is not left locked
    state.close()
    events.close()
