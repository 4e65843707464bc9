"""Scheduled reports (issue 11, item 6): a stored `kind: ReportSchedule` sends the project's
digest through its receiver at each slot, once; slots missed while the server was down are sent
once, not once per missed day. Real SQLite and DuckDB, a manual clock, the Slack fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slo_traffic import traffic

from fakes.slack import slack_receiver
from llmpulse.clock import ManualClock
from llmpulse.config.service import ConfigService
from llmpulse.config.source import StoredConfigSource
from llmpulse.query.service import QueryService
from llmpulse.server.reports import ReportRunner
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import SloSpec
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.config_store import config_store_for
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
P = "shop"
SPEC = SloSpec.model_validate(
    {"name": "availability", "project": P, "objective": "0.999", "window": "30d",
     "sli": {"type": "availability"}}
)  # fmt: skip


def _docs() -> list[dict[str, object]]:
    return [
        {"apiVersion": "llmpulse/v1", "kind": "Receiver", "metadata": {"name": "team"},
         "spec": {"type": "slack", "settings": {"urlFromEnv": "SLACK_URL"}}},
        {"apiVersion": "llmpulse/v1", "kind": "ReportSchedule",
         "metadata": {"name": "daily", "project": P},
         "spec": {"report": "digest", "every": "daily", "hour": 8, "receivers": ["team"]}},
    ]  # fmt: skip


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[DuckDBEventStore, SqlStateStore]]:
    events = DuckDBEventStore(tmp_path / "events.duckdb")
    state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    events.append_spans(traffic(P, T0 - timedelta(hours=30), T0, 60, lambda _t: 1))
    yield events, state
    events.close()
    state.close()


def test_a_daily_digest_is_sent_once_per_slot_and_missed_days_once(
    stores: tuple[DuckDBEventStore, SqlStateStore],
) -> None:
    events, state = stores
    clock = ManualClock(T0)
    with slack_receiver() as slack:
        env = {"SLACK_URL": slack.url + "/hook"}
        config = ConfigService(config_store_for(state), clock, env)
        run(config.apply(_docs(), "test"))
        slos = SloService(events, state, clock)
        run(slos.put(SPEC))
        runner = ReportRunner(
            StoredConfigSource(config_store_for(state), env), slos, QueryService(events, state)
        )
        assert run(runner.tick(T0)) == 1  # today's 08:00 slot
        assert run(runner.tick(T0 + timedelta(minutes=30))) == 0  # same slot: not again
        assert run(runner.tick(T0 + timedelta(days=1))) == 1  # the next day's slot
        assert run(runner.tick(T0 + timedelta(days=4))) == 1  # three missed days: one send
        bodies = [json.loads(r.body) for r in slack.requests]
    assert len(bodies) == 3
    text = json.dumps(bodies[0])
    assert "LlmpulseDigest" in text
    assert "/ui/projects/shop/slos" in text
    assert runner.last_sent[(P, "daily")] == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert runner.failed == 0


def test_a_digest_and_a_compliance_schedule_at_one_slot_build_the_digest_once(
    stores: tuple[DuckDBEventStore, SqlStateStore],
) -> None:
    events, state = stores
    clock = ManualClock(T0)
    compliance = {
        "apiVersion": "llmpulse/v1", "kind": "ReportSchedule",
        "metadata": {"name": "compliance", "project": P},
        "spec": {"report": "compliance", "every": "daily", "hour": 8, "receivers": ["team"]},
    }  # fmt: skip
    with slack_receiver() as slack:
        env = {"SLACK_URL": slack.url + "/hook"}
        config = ConfigService(config_store_for(state), clock, env)
        run(config.apply([*_docs(), compliance], "test"))
        slos = SloService(events, state, clock)
        run(slos.put(SPEC))
        cycles = 0
        evaluate = slos.evaluate_slos

        async def counted(project: str, now: datetime | None = None):  # type: ignore[no-untyped-def]
            nonlocal cycles
            cycles += 1
            return await evaluate(project, now)

        slos.evaluate_slos = counted  # type: ignore[method-assign]
        runner = ReportRunner(
            StoredConfigSource(config_store_for(state), env), slos, QueryService(events, state)
        )
        assert run(runner.tick(T0)) == 2  # both schedules reach the receiver
        bodies = [json.loads(r.body) for r in slack.requests]
    assert cycles == 1  # one digest for the project's slot, sent twice
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert set(runner.last_sent) == {(P, "daily"), (P, "compliance")}
