"""The demo's default monitors find each planted incident and notify a Slack-format receiver.

The demo data is generated with a fixed end (its statistics depend on where the end falls in
the day); the monitors run through the real scheduler and dispatcher on a manual clock, over
the demo's DuckDB file, and the receiver is the Slack incoming-webhook fake on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fakes.slack import slack_receiver
from llmpulse.alerts.dispatch import Dispatcher
from llmpulse.alerts.notifiers import RetryPolicy, SlackNotifier
from llmpulse.alerts.routing import RouteSpec, build_route
from llmpulse.alerts.source import RoutingConfig, StaticSource
from llmpulse.clock import ManualClock
from llmpulse.demo.incidents import PlantedIncident, plan_incidents
from llmpulse.demo.monitors import default_monitors
from llmpulse.monitors.backtest import backtest
from llmpulse.monitors.engine import Engine
from llmpulse.monitors.scheduler import MonitorScheduler
from llmpulse.store.api import EventStore
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.alerts_sql import SqlAlertStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run
from support.monitor_data import CountingReader
from support.server import make_demo_data

pytestmark = [pytest.mark.integration, pytest.mark.slow]
END = datetime(2026, 11, 21, tzinfo=UTC)
H = timedelta(hours=1)
# Which default monitor should catch which incident, and the segment label it carries.
EXPECTED = {
    "llm-latency-spike": ("llm-latency-p95", {"metadata.region": "eu-west"}),
    "error-burst": ("error-rate", {}),
    "sales-enterprise-cost-jump": ("enterprise-llm-cost", {"metadata.product_line": "sales"}),
}


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    make_demo_data(data_dir, 4, END.strftime("%Y-%m-%dT%H:%M:%S%z"))
    store = DuckDBEventStore(Path(data_dir) / "events.duckdb")
    yield store
    store.close()


def _incident(name: str) -> PlantedIncident:
    return next(i for i in plan_incidents(END) if i.name == name)


@pytest.mark.parametrize("incident", sorted(EXPECTED))
def test_default_monitors_notify_slack_of_each_planted_incident(
    demo_events: EventStore, tmp_path: Path, incident: str
) -> None:
    planted = _incident(incident)
    monitor, segment = EXPECTED[incident]
    route = build_route(
        RouteSpec(receiver="slack", group_by=("alertname",), group_wait=timedelta(seconds=30))
    )
    state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    alerts = SqlAlertStore(state)
    try:
        with slack_receiver() as slack:
            notifier = SlackNotifier(slack.url + "/hook", retry=RetryPolicy(attempts=1))
            source = StaticSource(
                default_monitors(), {"*": RoutingConfig(route, {"slack": notifier})}
            )
            clock = ManualClock(planted.start - H)
            dispatcher = Dispatcher(source, alerts, clock, "http://llmpulse.test")
            sched = MonitorScheduler(
                source, Engine(CountingReader(demo_events)), alerts, clock, dispatcher.receive
            )

            async def timeline() -> None:
                while clock.now() < planted.start + 2 * H:
                    await sched.tick(clock.now())
                    clock.advance(timedelta(minutes=5))
                    await dispatcher.flush(clock.now())

            run(timeline())
            messages = [json.loads(r.body) for r in slack.requests]
    finally:
        state.close()
    firing = [m for m in messages if m["text"] == f"[FIRING:1] {monitor}"]
    assert firing, [m["text"] for m in messages]
    fields = [f["text"] for f in firing[0]["blocks"][1]["fields"]]
    seg_text = ", ".join(f"{k}={v}" for k, v in segment.items()) or "all"
    assert f"*Segment*\n{seg_text}" in fields
    log = _log(tmp_path)
    assert ("sent", 1) in log
    assert ("failed", 1) not in log


def _log(tmp_path: Path) -> list[tuple[str, int]]:
    state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        return [(n.status, n.attempts) for n in SqlAlertStore(state).notifications("rag-demo")]
    finally:
        state.close()


def test_backtest_of_the_default_monitors_finds_each_incident_where_it_lives(
    demo_events: EventStore,
) -> None:
    read = CountingReader(demo_events)
    found: dict[str, list[tuple[datetime, dict[str, str]]]] = {}
    for spec in default_monitors():
        result = run(backtest(spec, END - 90 * H, END, read))
        found[spec.name] = [(a.start, a.labels) for a in result.alerts]
    for incident, (monitor, segment) in EXPECTED.items():
        planted = _incident(incident)
        hits = [
            start
            for start, labels in found[monitor]
            if planted.start <= start < planted.end and segment.items() <= labels.items()
        ]
        assert hits, (incident, found[monitor])
        # Found within the `for` duration plus two evaluation intervals of the start.
        spec = next(s for s in default_monitors() if s.name == monitor)
        assert min(hits) <= planted.start + spec.for_ + 2 * spec.every + spec.window
    # No false alarm of the latency monitor: every alert it raises is the planted spike (with
    # `for` shorter than the window, one slow request raised 3 short ones over these 90 hours).
    spike = _incident("llm-latency-spike")
    region = EXPECTED["llm-latency-spike"][1]
    false_alarms = [
        (start, labels)
        for start, labels in found["llm-latency-p95"]
        if not (spike.start <= start < spike.end and region.items() <= labels.items())
    ]
    assert false_alarms == []
