"""Fixtures of the store contract suites: one event store per engine, opened on tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmpulse.store.api import EventStore
from llmpulse.store.events import summary_upkeep
from llmpulse.store.events.duckdb import DuckDBEventStore

OpenStore = Callable[[], EventStore]


def _opener(engine: str, path: Path) -> OpenStore:
    if engine == "duckdb":
        return lambda: DuckDBEventStore(path / "events.duckdb")
    raise ValueError(engine)


@pytest.fixture(params=["duckdb"])
def open_event_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Opens the engine's store on one directory; each call opens it again (reopen tests)."""
    return _opener(request.param, tmp_path)


@pytest.fixture
def event_store(open_event_store: OpenStore) -> Iterator[EventStore]:
    """A fresh, empty event store, closed after the test."""
    store = open_event_store()
    yield store
    store.close()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> None:
    """The summaries' upkeep never adds the backlog by itself (only `catch_up` and deletes
    do)."""
    monkeypatch.setattr(summary_upkeep, "PAUSE_S", 1e9)
    monkeypatch.setattr(summary_upkeep, "MAX_LAG_S", 1e9)
