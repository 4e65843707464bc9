"""``inhibit_rules`` of an ``AlertRoute``: canonical form, round trip, errors by field, and the
rules reaching the routing configuration the dispatcher reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from llmpulse.alerts.model import Alert
from llmpulse.clock import ManualClock
from llmpulse.config.kinds import handler_for
from llmpulse.config.resources import Resource
from llmpulse.config.service import ConfigService
from llmpulse.domain.errors import InvalidInput
from llmpulse.server.runtime import CombinedSource, FileAndMemorySource
from llmpulse.store.state.config_store import config_store_for
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
RULE = {
    "source_matchers": ['severity = "critical"'],
    "target_matchers": ['severity="warning"'],
    "equal": ["service"],
}
RECEIVER = {
    "apiVersion": "llmpulse/v1", "kind": "Receiver", "metadata": {"name": "hook"},
    "spec": {"type": "webhook", "settings": {"urlFromEnv": "HOOK_URL"}},
}  # fmt: skip


def _route(spec: dict[str, Any], project: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "llmpulse/v1",
        "kind": "AlertRoute",
        "metadata": {"name": "default", "project": project},
        "spec": {"receiver": "hook", **spec},
    }


def _parse(doc: Any) -> Resource:
    return handler_for(doc).parse(doc)


def test_rules_are_stored_in_canonical_form_and_round_trip() -> None:
    r = _parse(_route({"inhibit_rules": [RULE, {**RULE, "equal": []}]}))
    assert r.spec["inhibit_rules"] == [
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
         "equal": ["service"]},
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"']},
    ]  # fmt: skip
    again = _parse(r.manifest())
    assert again.spec_json == r.spec_json


def test_a_route_without_rules_keeps_its_canonical_form() -> None:
    r = _parse(_route({"inhibit_rules": []}))
    assert "inhibit_rules" not in r.spec
    assert r.spec == {"receiver": "hook"}


@pytest.mark.parametrize(
    ("rules", "paths"),
    [
        ({"a": 1}, ["spec.inhibit_rules"]),
        ([{**RULE, "source_matchers": []}], ["spec.inhibit_rules[0].source_matchers"]),
        ([RULE, {**RULE, "target_matchers": ["sev=~'('"]}],
         ["spec.inhibit_rules[1].target_matchers"]),
        ([{**RULE, "equal": ["service", "bad label"]}], ["spec.inhibit_rules[0].equal"]),
        ([{**RULE, "unknown": 1}], ["spec.inhibit_rules[0].unknown"]),
        ([{"equal": ["x"]}],
         ["spec.inhibit_rules[0].source_matchers", "spec.inhibit_rules[0].target_matchers"]),
    ],
)  # fmt: skip
def test_bad_rules_name_the_field(rules: Any, paths: list[str]) -> None:
    with pytest.raises(InvalidInput) as err:
        _parse(_route({"inhibit_rules": rules}))
    assert [e.path for e in err.value.errors] == paths


def test_rules_are_only_allowed_at_the_root() -> None:
    doc = _route({"routes": [{"receiver": "hook", "inhibit_rules": [RULE]}]})
    with pytest.raises(InvalidInput) as err:
        _parse(doc)
    assert [e.path for e in err.value.errors] == ["spec.routes[0].inhibit_rules"]


@pytest.fixture
def service() -> Iterator[ConfigService]:
    state = SqlStateStore("sqlite://")
    yield ConfigService(
        config_store_for(state), ManualClock(NOW), {"HOOK_URL": "http://127.0.0.1:9/h"}
    )
    state.close()


def test_applied_rules_reach_the_dispatchers_routing_config(service: ConfigService) -> None:
    run(service.apply([RECEIVER, _route({"inhibit_rules": [RULE]})], "test"))
    stored = run(service.routing_config("shop"))
    assert stored is not None
    assert len(stored.inhibit_rules) == 1
    # what the dispatcher reads: the runtime's combined source
    cfg = run(CombinedSource(service.source, FileAndMemorySource()).routing_config("shop"))
    assert cfg is not None
    (rule,) = cfg.inhibit_rules
    critical = Alert({"severity": "critical", "service": "checkout"}, NOW, None)
    warning = {"severity": "warning", "service": "checkout"}
    other = {"severity": "warning", "service": "search"}
    assert rule.source_for(warning, [critical], NOW) == critical.fingerprint
    assert rule.source_for(other, [critical], NOW) is None
    # the export gives the rules back and re-applying it changes nothing
    exported = run(service.export("shop"))
    plan = run(service.plan(exported))
    assert not plan.has_changes
    route = next(d for d in exported if d["kind"] == "AlertRoute")
    assert route["spec"]["inhibit_rules"][0]["equal"] == ["service"]


def test_editing_the_rules_is_a_field_level_update(service: ConfigService) -> None:
    run(service.apply([RECEIVER, _route({"inhibit_rules": [RULE]})], "test"))
    plan = run(service.plan([_route({"inhibit_rules": [{**RULE, "equal": ["team"]}]})]))
    (change,) = plan.changes
    assert change.action == "update"
    assert [f.path for f in change.fields] == ["spec.inhibit_rules"]
