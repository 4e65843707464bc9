"""Monitor runtime timelines: real DuckDB and SQLite, a manual clock, a Slack fake on loopback.

The scheduler evaluates due monitors each minute, stores states and transitions, and the
dispatcher routes, groups and delivers notifications, logging each one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from fakes.slack import slack_receiver
from llmpulse.alerts.dispatch import Dispatcher
from llmpulse.alerts.notifiers import RetryPolicy, SlackNotifier
from llmpulse.alerts.routing import RouteSpec, build_route
from llmpulse.alerts.source import RoutingConfig, StaticSource
from llmpulse.clock import ManualClock
from llmpulse.domain.ids import SpanId
from llmpulse.monitors.engine import Engine
from llmpulse.monitors.scheduler import MonitorScheduler
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.server.runtime import MonitorRuntime
from llmpulse.server.runtime_metrics import RuntimeCollector
from llmpulse.store.alerts_api import TransitionQuery
from llmpulse.store.state.alerts_sql import SqlAlertStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run
from support.monitor_data import END, PROJECT, CountingReader, Plant, monitor, store_with, traffic

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
PLANT = Plant(END - 3 * H, END - 2 * H, region="eu", latency=3.0)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("events"), traffic(12, 12, (PLANT,)))
    yield CountingReader(store)
    store.close()


@pytest.fixture
def alerts(tmp_path: Path) -> Iterator[SqlAlertStore]:
    state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield SqlAlertStore(state)
    state.close()


def _source(url: str, *monitors: MonitorSpec) -> StaticSource:
    route = build_route(
        RouteSpec(receiver="oncall", group_by=("alertname",), group_wait=timedelta(seconds=1))
    )
    notifier = SlackNotifier(url, retry=RetryPolicy(attempts=2, base_delay_s=0.01))
    return StaticSource(list(monitors), {"*": RoutingConfig(route, {"oncall": notifier})})


def test_incident_fires_notifies_slack_and_resolves(
    reader: CountingReader, alerts: SqlAlertStore
) -> None:
    with slack_receiver() as slack:
        source = _source(slack.url + "/hook", monitor("latency", segment_by="metadata.region"))
        clock = ManualClock(PLANT.start - 30 * MIN)
        dispatcher = Dispatcher(source, alerts, clock, "http://llmpulse.test")
        sched = MonitorScheduler(source, Engine(reader), alerts, clock, dispatcher.receive)

        async def timeline() -> None:
            while clock.now() <= PLANT.end + 30 * MIN:
                await sched.tick(clock.now())
                clock.advance(MIN)
                await dispatcher.flush(clock.now())

        run(timeline())
        bodies = [json.loads(r.body) for r in slack.requests]
    assert [b["text"] for b in bodies] == ["[FIRING:1] latency", "[RESOLVED:1] latency"]
    fired = alerts.transitions(TransitionQuery(PROJECT, monitor="latency", status="firing"))
    assert len(fired) == 1
    assert fired[0].labels["metadata.region"] == "eu"
    assert PLANT.start < fired[0].at <= PLANT.start + 2 * MIN
    evidence = fired[0].evidence
    assert evidence["value"] > evidence["upper"] > evidence["baseline"]
    assert evidence["segment"] == {"metadata.region": "eu"}
    log = alerts.notifications(PROJECT)
    assert [(n.status, n.attempts) for n in log] == [("sent", 1), ("sent", 1)]
    assert sched.current_states(PROJECT) == {"latency": "ok"}
    assert sched.status.cycles > 0
    assert sched.status.failures == 0


def test_a_failing_monitor_never_stops_the_others(
    reader: CountingReader, alerts: SqlAlertStore
) -> None:
    good = monitor("good", "error:rate")
    bad = monitor("bad", "latency_ms:p95", filters=["kind=llm"])
    source = StaticSource([good, bad])
    reader.fail = lambda q: bool(q.where.kinds)  # every query of the bad monitor's plan fails
    try:
        clock = ManualClock(END - H)
        sched = MonitorScheduler(source, Engine(reader), alerts, clock)
        report = run(sched.tick(clock.now()))
    finally:
        reader.fail = lambda q: False
    assert report.errors == 1
    states = sched.current_states(PROJECT)
    assert states == {"good": "ok", "bad": "error"}
    err = alerts.transitions(TransitionQuery(PROJECT, monitor="bad"))[0]
    assert "planted query failure" in err.reason


class _CountingSource(StaticSource):
    """A static source that counts how often the scheduler reads its monitors."""

    reads = 0

    async def list_monitors(self, project: str | None = None) -> list[MonitorSpec]:
        self.reads += 1
        return await super().list_monitors(project)


def test_the_scheduler_loop_reads_the_monitors_once_per_round(
    reader: CountingReader, alerts: SqlAlertStore
) -> None:
    source = _CountingSource([monitor("latency", "latency_ms:p95")])
    clock = ManualClock(END - H)
    sched = MonitorScheduler(source, Engine(reader), alerts, clock)

    async def rounds() -> None:
        await sched.start()
        try:
            for cycle in range(1, 4):
                for _ in range(3000):  # the round runs its queries on worker threads
                    if sched.status.cycles >= cycle:
                        break
                    await asyncio.sleep(0.01)
                clock.advance(MIN)
        finally:
            await sched.stop()

    run(rounds())
    assert sched.status.cycles >= 3
    assert source.reads == sched.status.cycles  # was read twice a round: loop and tick


def test_restart_catches_up_missed_intervals_up_to_the_bound(
    reader: CountingReader, alerts: SqlAlertStore
) -> None:
    source = StaticSource([monitor("rate", "error:rate")])
    clock = ManualClock(END - 2 * H)
    first = MonitorScheduler(source, Engine(reader), alerts, clock)
    run(first.tick(clock.now()))
    clock.advance(10 * MIN)  # the process was down for ten intervals
    second = MonitorScheduler(source, Engine(reader), alerts, clock, max_catch_up=4)
    assert second.current_states(PROJECT) == {"rate": "ok"}  # from the store, before a tick
    report = run(second.tick(clock.now()))
    assert report.instants == 4
    assert report.skipped == 6
    cursor = {c.monitor: c.last_eval_at for c in alerts.cursors()}
    assert cursor["rate"] == clock.now()
    again = run(second.tick(clock.now()))
    assert again.instants == 0  # an instant is never evaluated twice


def test_undeliverable_notification_is_logged_with_attempts_and_error(
    reader: CountingReader, alerts: SqlAlertStore
) -> None:
    with slack_receiver() as slack:
        dead = slack.url
    source = _source(dead + "/hook", monitor("latency", segment_by="metadata.region"))
    clock = ManualClock(PLANT.start - 5 * MIN)
    dispatcher = Dispatcher(source, alerts, clock)
    sched = MonitorScheduler(source, Engine(reader), alerts, clock, dispatcher.receive)

    async def timeline() -> None:
        for _ in range(10):
            await sched.tick(clock.now())
            clock.advance(MIN)
            await dispatcher.flush(clock.now())

    run(timeline())
    log = alerts.notifications(PROJECT)
    assert log, "the firing alert was never attempted"
    assert {n.status for n in log} == {"failed"}
    assert all(n.attempts == 2 and n.error for n in log)
    assert dispatcher.counters.failed == len(log)
    assert dispatcher.counters.sent == 0


def test_firing_evidence_names_example_spans_of_the_window_and_segment(
    reader: CountingReader, alerts: SqlAlertStore
) -> None:
    clock = ManualClock(PLANT.start - 5 * MIN)
    runtime = MonitorRuntime(reader.store, alerts, clock, enabled=False)
    runtime.add_monitors([monitor("latency", segment_by="metadata.region")])

    async def timeline() -> None:
        for _ in range(10):
            await runtime.scheduler.tick(clock.now())
            clock.advance(MIN)

    run(timeline())
    fired = alerts.transitions(TransitionQuery(PROJECT, monitor="latency", status="firing"))
    assert len(fired) == 1
    ids = fired[0].evidence["example_span_ids"]
    assert len(ids) == 3
    spans = [reader.store.get_span(SpanId(i)) for i in ids]
    window_start = datetime.fromisoformat(fired[0].evidence["window_start"])
    for span in spans:
        assert span is not None
        assert span.metadata["region"] == "eu"
        assert window_start <= span.start_time < fired[0].at
    latencies = [(s.end_time - s.start_time).total_seconds() for s in spans if s is not None]
    assert latencies == sorted(latencies, reverse=True)  # the slowest first


def test_prometheus_collector_exports_scheduler_and_notification_counters(
    reader: CountingReader, alerts: SqlAlertStore
) -> None:
    with slack_receiver() as slack:
        clock = ManualClock(PLANT.start - 5 * MIN)
        runtime = MonitorRuntime(reader.store, alerts, clock, enabled=False)
        runtime.add_monitors([monitor("latency", segment_by="metadata.region")])
        route = build_route(RouteSpec(receiver="oncall", group_wait=timedelta(seconds=1)))
        notifier = SlackNotifier(slack.url + "/hook", retry=RetryPolicy(attempts=1))
        runtime.set_routing("*", RoutingConfig(route, {"oncall": notifier}))

        async def timeline() -> None:
            for _ in range(8):
                await runtime.scheduler.tick(clock.now())
                clock.advance(MIN)
                await runtime.dispatcher.flush(clock.now())

        run(timeline())
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))
    text = generate_latest(registry).decode()
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples["llmpulse_monitor_cycles_total"] == 8
    assert samples["llmpulse_monitor_evaluations_total"] == 16  # two regions a minute
    assert samples["llmpulse_notifications_sent_total"] == 1  # the eu-west firing
    assert samples["llmpulse_notifications_failed_total"] == 0
    assert samples["llmpulse_monitor_cycle_seconds"] > 0
    assert "llmpulse_monitor_lag_seconds" in samples
