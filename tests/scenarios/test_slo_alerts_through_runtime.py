"""SLO burn-rate alerts go through the server's alert pipeline (issue 11, item 3): the runtime's
SLO tick hands page alerts to the dispatcher, which routes and delivers them to a Slack-format
receiver; a silence matching the SLO mutes them. Real DuckDB and SQLite, a manual clock, the
Slack fake over loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from slo_traffic import traffic

from fakes.slack import slack_receiver
from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.notifiers import RetryPolicy, SlackNotifier
from llmpulse.alerts.routing import RouteSpec, build_route
from llmpulse.alerts.silences import Silence
from llmpulse.alerts.source import RoutingConfig
from llmpulse.clock import ManualClock
from llmpulse.server.reports import ReportRunner
from llmpulse.server.runtime import MonitorRuntime
from llmpulse.server.runtime_metrics import RuntimeCollector
from llmpulse.slos.feed import SloAlertFeed
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import SloSpec
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.alerts_sql import SqlAlertStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the outage starts here
P = "shop"
SPEC = SloSpec.model_validate(
    {"name": "availability", "project": P, "objective": "0.999", "window": "30d",
     "sli": {"type": "availability"}}
)  # fmt: skip


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[DuckDBEventStore, SqlStateStore]]:
    events = DuckDBEventStore(tmp_path / "events.duckdb")
    state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    clean = traffic(P, T0 - timedelta(hours=7), T0, 60, lambda _t: 0)
    outage = traffic(P, T0, T0 + timedelta(minutes=40), 60, lambda _t: 10, offset=len(clean))
    events.append_spans(clean + outage)
    yield events, state
    events.close()
    state.close()


def _runtime(
    stores: tuple[DuckDBEventStore, SqlStateStore], clock: ManualClock, url: str, *silences: Silence
) -> MonitorRuntime:
    events, state = stores
    slos = SloService(events, state, clock)
    run(slos.put(SPEC))
    runtime = MonitorRuntime(
        events, SqlAlertStore(state), clock, enabled=False, slo_feed=SloAlertFeed(slos)
    )
    route = build_route(
        RouteSpec(receiver="oncall", group_by=("slo",), group_wait=timedelta(seconds=1))
    )
    notifier = SlackNotifier(url, retry=RetryPolicy(attempts=1))
    runtime.set_routing(P, RoutingConfig(route, {"oncall": notifier}, tuple(silences)))
    return runtime


def _minutes(runtime: MonitorRuntime, clock: ManualClock, n: int) -> None:
    async def timeline() -> None:
        for _ in range(n):
            await runtime.slo_tick(clock.now())
            clock.advance(timedelta(minutes=1))
            await runtime.dispatcher.flush(clock.now())

    run(timeline())


def test_an_outage_pages_through_the_pipeline_to_slack(
    stores: tuple[DuckDBEventStore, SqlStateStore],
) -> None:
    clock = ManualClock(T0)
    with slack_receiver() as slack:
        runtime = _runtime(stores, clock, slack.url + "/hook")
        _minutes(runtime, clock, 6)
        early = json.dumps([json.loads(r.body) for r in slack.requests])
        _minutes(runtime, clock, 8)
        text = json.dumps([json.loads(r.body) for r in slack.requests])
    # 10 % errors: the 3d/6h ticket rule fires within minutes, the 1h/5m page rule only after
    # 14.4 * 0.001 * 60 min / 0.1 = 8.64 minutes (METHODS.md burn-rate factors).
    assert "rule=ticket_slow" in early
    assert "rule=page_" not in early
    assert "rule=page_quick, slo=availability, windows=1h/5m" in text
    log = runtime.alerts.notifications(P)
    assert log
    assert {n.status for n in log} == {"sent"}
    assert runtime.slo_cycles == 14
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in generate_latest(registry).decode().splitlines()
        if line and not line.startswith("#")
    }
    assert samples["llmpulse_slo_cycles_total"] == 14
    assert samples["llmpulse_slo_cycle_failures_total"] == 0
    assert samples["llmpulse_reports_sent_total"] == 0  # no report schedule here


def test_a_silence_on_the_slo_mutes_its_alerts(
    stores: tuple[DuckDBEventStore, SqlStateStore],
) -> None:
    clock = ManualClock(T0)
    silence = Silence(
        id="s1",
        matchers=(parse_matcher('slo="availability"'),),
        starts_at=T0 - timedelta(hours=1),
        ends_at=T0 + timedelta(hours=2),
        created_by="test",
        comment="maintenance",
    )
    with slack_receiver() as slack:
        runtime = _runtime(stores, clock, slack.url + "/hook", silence)
        _minutes(runtime, clock, 20)
        assert not slack.requests


class _HungReports(ReportRunner):
    """Scheduled reports whose delivery never finishes (a receiver that hangs)."""

    def __init__(self) -> None:
        self.started = 0

    async def tick(self, now: datetime) -> int:
        self.started += 1
        await asyncio.Event().wait()
        return 0


async def _until(ok: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait (polling the real loop) until ``ok()``; fail after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if ok():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out waiting for the runtime")


def test_slo_pages_keep_coming_while_a_scheduled_report_hangs(
    stores: tuple[DuckDBEventStore, SqlStateStore],
) -> None:
    clock = ManualClock(T0)
    reports = _HungReports()

    async def timeline(runtime: MonitorRuntime) -> None:
        await runtime.start()
        try:
            for minute in range(1, 15):
                await _until(lambda: runtime.slo_cycles >= minute)  # noqa: B023 (awaited here)
                clock.advance(timedelta(minutes=1))
            await _until(lambda: any(n.status == "sent" for n in runtime.alerts.notifications(P)))
        finally:
            await runtime.stop()

    with slack_receiver() as slack:
        runtime = _runtime(stores, clock, slack.url + "/hook")
        runtime.enabled, runtime.reports = True, reports
        run(timeline(runtime))
        text = json.dumps([json.loads(r.body) for r in slack.requests])
    assert reports.started == 1  # the report never finished, yet every SLO minute ran
    assert runtime.slo_cycles >= 14
    assert "rule=page_quick, slo=availability, windows=1h/5m" in text
