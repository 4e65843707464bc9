"""What the scheduler reads: `ConfigService.list_monitors` and `routing_config` after an apply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmpulse.alerts.silences import SilenceState
from llmpulse.alerts.source import RoutingConfig
from llmpulse.clock import ManualClock
from llmpulse.config.bundle import load_documents
from llmpulse.config.service import ConfigService
from llmpulse.config.silence_service import create_silence, expire_silence, list_silences
from llmpulse.store.state.config_store import config_store_for
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

STACK = Path(__file__).resolve().parents[2] / "data" / "config" / "stack.yaml"
START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ENV = {"SLACK_URL": "http://127.0.0.1:9/slack"}  # PD_ROUTING_KEY deliberately unset


@pytest.fixture
def service() -> Iterator[ConfigService]:
    state = SqlStateStore("sqlite://")
    svc = ConfigService(config_store_for(state), ManualClock(START), ENV)
    run(svc.apply(load_documents(STACK.read_text()), "test"))
    yield svc
    state.close()


def _active(cfg: RoutingConfig, at: datetime) -> list[str]:
    """The ids of the routing's silences in force at ``at``."""
    return [s.id for s in cfg.silences if s.state(at) is SilenceState.ACTIVE]


def test_list_monitors_gives_monitor_specs(service: ConfigService) -> None:
    monitors = run(service.list_monitors("rag-demo"))
    assert [m.name for m in monitors] == ["checkout-latency", "errors"]
    errors = monitors[1]
    assert (errors.segment_by, errors.min_samples, errors.for_) == (
        "metadata.region", 50, timedelta(minutes=10),
    )  # fmt: skip
    assert run(service.list_monitors("elsewhere")) == []
    assert service.source.projects() == ["rag-demo"]


def test_routing_config_routes_builds_notifiers_and_knows_silences(
    service: ConfigService,
) -> None:
    cfg = run(service.routing_config("rag-demo"))
    assert cfg is not None
    critical = cfg.route.match({"severity": "critical", "alertname": "errors"})
    assert [r.opts.receiver for r in critical] == ["oncall-pager"]
    assert [r.opts.receiver for r in cfg.route.match({"severity": "warning"})] == ["oncall-slack"]
    assert cfg.route.opts.group_by == ("alertname", "project")
    assert sorted(r.name for r in service.source.objects("Receiver")) == [
        "oncall-pager", "oncall-slack",
    ]  # fmt: skip
    assert list(cfg.receivers) == ["oncall-slack"]  # the pager's key is not in the env
    assert _active(cfg, START) == []
    assert _active(cfg, START + timedelta(hours=1, minutes=30)) == ["deploy-window"]
    assert run(service.routing_config("no-route")) is None
    (rule,) = cfg.inhibit_rules
    assert [str(m) for m in rule.source_matchers] == ['severity="critical"']
    assert rule.equal == ("monitor",)


def test_silences_created_and_expired_through_the_service(service: ConfigService) -> None:
    clock = service.clock
    assert isinstance(clock, ManualClock)
    view = run(create_silence(service, "rag-demo", {"matchers": ['team="x"'], "duration": "1h"},
                              "alice"))  # fmt: skip
    assert view.silence.created_by == "alice"
    assert view.silence.starts_at == START
    clock.advance(timedelta(minutes=10))
    run(expire_silence(service, "rag-demo", view.silence.id, "bob"))
    expired = run(list_silences(service, "rag-demo"))
    ended = next(v for v in expired if v.silence.id == view.silence.id)
    assert ended.silence.ends_at == START + timedelta(minutes=10)
    assert ended.state.value == "expired"
    cfg = run(service.routing_config("rag-demo"))
    assert cfg is not None
    assert view.silence.id not in _active(cfg, clock.now())
