"""The ``/metrics`` SLO collector keeps its statuses for 15 s, but not past a change of the
stored SLO definitions, whichever path wrote them (`SloService` or the generic ``apply``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmpulse.clock import ManualClock
from llmpulse.config.service import ConfigService
from llmpulse.server.exposition import SloCollector
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import SloSpec
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.config_store import config_store_for
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
P = "shop"


def _manifest(name: str) -> dict[str, object]:
    spec = SloSpec.model_validate(
        {"name": name, "project": P, "objective": "0.99", "window": "7d",
         "sli": {"type": "availability"}}
    )  # fmt: skip
    return spec.to_manifest()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[SloService, ConfigService]]:
    events = DuckDBEventStore(tmp_path / "events.duckdb")
    state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    clock = ManualClock(NOW)
    yield SloService(events, state, clock), ConfigService(config_store_for(state), clock)
    events.close()
    state.close()


def _slos(collector: SloCollector) -> set[str]:
    fams = {m.name: m for m in collector.collect()}
    return {s.labels["slo"] for s in fams["llmpulse_slo_objective"].samples}


def test_a_generic_apply_is_seen_at_the_next_scrape(
    stack: tuple[SloService, ConfigService],
) -> None:
    slos, config = stack
    collector = SloCollector(slos)
    run(slos.put(SloSpec.from_manifest(_manifest("availability"))))
    run(collector.refresh(NOW))
    assert _slos(collector) == {"availability"}
    run(config.apply([_manifest("latency")], "test"))
    run(collector.refresh(NOW + timedelta(seconds=1)))
    assert _slos(collector) == {"availability", "latency"}
    run(config.apply([_manifest("availability")], "test", prune=True, project=P))
    run(collector.refresh(NOW + timedelta(seconds=2)))
    assert _slos(collector) == {"availability"}


def test_unchanged_definitions_keep_the_statuses_for_the_interval(
    stack: tuple[SloService, ConfigService],
) -> None:
    slos, _ = stack
    collector = SloCollector(slos)
    run(slos.put(SloSpec.from_manifest(_manifest("availability"))))
    calls = 0
    evaluate = slos.evaluate_slos

    async def counted(project: str, now: datetime | None = None):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await evaluate(project, now)

    slos.evaluate_slos = counted  # type: ignore[method-assign]
    run(collector.refresh(NOW))
    run(collector.refresh(NOW + timedelta(seconds=14)))
    assert calls == 1
    run(collector.refresh(NOW + timedelta(seconds=15)))
    assert calls == 2
    run(slos.put(SloSpec.from_manifest(_manifest("latency"))))
    run(collector.refresh(NOW + timedelta(seconds=16)))
    assert calls == 3
    assert _slos(collector) == {"availability", "latency"}
