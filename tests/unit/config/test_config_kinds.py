"""Each kind's manifest: canonical form, round trip, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from llmpulse.alerts.matchers import MatchOp
from llmpulse.config.kinds import KINDS, handler_for
from llmpulse.config.receiver_kind import build_notifier
from llmpulse.config.resources import Resource
from llmpulse.config.route_kind import RouteNode
from llmpulse.config.silence_kind import silence_of
from llmpulse.domain.errors import InvalidInput


def _doc(kind: str, spec: dict[str, Any], name: str = "x", project: str | None = "p") -> Any:
    meta: dict[str, Any] = {"name": name}
    if project is not None:
        meta["project"] = project
    return {"apiVersion": "llmpulse/v1", "kind": kind, "metadata": meta, "spec": spec}


def _parse(doc: Any) -> Resource:
    return handler_for(doc).parse(doc)


def _paths(doc: Any) -> list[str]:
    with pytest.raises(InvalidInput) as err:
        _parse(doc)
    return [e.path for e in err.value.errors]


ROUND_TRIPS = [
    _doc("Monitor", {"metric": "latency_ms:p95", "every": "60s", "window": "600s"}),
    _doc(
        "Monitor",
        {
            "metric": "error:rate",
            "for": "5m",
            "segment_by": "metadata.region",
            "detector": {"name": "p_chart"},
            "min_samples": 30,
        },
    ),
    _doc(
        "AlertRoute",
        {
            "receiver": "a",
            "group_wait": "60s",
            "routes": [
                {
                    "matchers": ["severity = critical"],
                    "receiver": "b",
                    "continue": True,
                    "routes": [{"matchers": ['team=~"db|api"'], "group_by": ["..."]}],
                }
            ],
        },
        name="default",
    ),
    _doc(
        "Receiver",
        {
            "type": "webhook",
            "settings": {"url": "${HOOK}", "secret": "${S}", "format": "alertmanager"},
        },
        project=None,
    ),
    _doc(
        "Receiver",
        {
            "type": "email",
            "settings": {"host": "mx", "from": "a@b.c", "to": ["x@y.z"], "password_from_env": "P"},
        },
        project=None,
    ),
    _doc(
        "Silence",
        {
            "matchers": ['monitor="m"'],
            "starts_at": "2026-12-05T10:00:00+01:00",
            "duration": "90m",
            "comment": "c",
        },
    ),
]


@pytest.mark.parametrize("doc", ROUND_TRIPS, ids=lambda d: d["kind"])
def test_canonical_form_parses_back_to_itself(doc: Any) -> None:
    first = _parse(doc)
    again = _parse(first.manifest())
    assert again == first
    assert again.spec_json == first.spec_json


def test_canonical_forms_spell_durations_secrets_and_matchers_one_way() -> None:
    monitor, _, route, hook, mail, silence = (_parse(d) for d in ROUND_TRIPS)
    assert monitor.spec == {"metric": "latency_ms:p95", "every": "1m", "window": "10m"}
    assert route.spec["group_wait"] == "1m"
    assert route.spec["routes"][0]["matchers"] == ['severity="critical"']
    assert hook.spec["settings"] == {
        "urlFromEnv": "HOOK",
        "secretFromEnv": "S",
        "format": "alertmanager",
    }
    assert mail.spec["settings"]["passwordFromEnv"] == "P"
    assert silence.spec["starts_at"] == "2026-12-05T09:00:00Z"
    assert silence.spec["ends_at"] == "2026-12-05T10:30:00Z"


@pytest.mark.parametrize(
    ("doc", "paths"),
    [
        (_doc("Monitor", {"metric": "latency_ms:p95", "window": "soon"}), ["spec.window"]),
        (_doc("Monitor", {"metric": "nope:p95"}), ["spec.metric"]),
        (_doc("Monitor", {"metric": "error:rate"}, project=None), ["metadata.project"]),
        (_doc("AlertRoute", {"receiver": "a"}), ["metadata.name"]),
        (_doc("AlertRoute", {"group_by": ["x"]}, name="default"), ["spec.receiver"]),
        (
            _doc(
                "AlertRoute",
                {"receiver": "a", "routes": [{"matchers": ["no operator"]}]},
                name="default",
            ),
            ["spec.routes[0].matchers"],
        ),
        (
            _doc("AlertRoute", {"receiver": "a", "matchers": ['a="b"']}, name="default"),
            ["spec.matchers"],
        ),
        (_doc("Receiver", {"type": "sms"}, project=None), ["spec.type"]),
        (
            _doc(
                "Receiver", {"type": "slack", "settings": {"url": "https://hooks/x"}}, project=None
            ),
            ["spec.settings.url"],
        ),
        (
            _doc(
                "Receiver",
                {"type": "slack", "settings": {"urlFromEnv": "A", "colour": "red"}},
                project=None,
            ),
            ["spec.settings.colour"],
        ),
        (
            _doc("Receiver", {"type": "slack", "settings": {"urlFromEnv": "A"}}),
            ["metadata.project"],
        ),
        (_doc("Silence", {"matchers": ['a="b"'], "duration": "1h"}), ["spec.starts_at"]),
        (
            _doc(
                "Silence",
                {"matchers": ['a=""'], "starts_at": "2026-01-01T00:00:00Z", "duration": "1h"},
            ),
            ["spec.matchers"],
        ),
        (
            _doc(
                "Silence",
                {
                    "matchers": ['a="b"'],
                    "starts_at": "2026-01-01T00:00:00Z",
                    "ends_at": "2025-01-01T00:00:00Z",
                },
            ),
            ["spec.ends_at"],
        ),
        (
            _doc("Silence", {"matchers": ['a="b"'], "starts_at": "2026-01-01T00:00:00"}),
            ["spec.starts_at"],
        ),
        ({**_doc("Monitor", {"metric": "error:rate"}), "status": {}}, ["status"]),
    ],
)
def test_errors_name_the_field(doc: Any, paths: list[str]) -> None:
    assert _paths(doc) == paths


def test_route_node_builds_the_alerts_route_tree() -> None:
    route = _parse(ROUND_TRIPS[2])
    spec = RouteNode.model_validate(dict(route.spec)).route_spec()
    child = spec.routes[0]
    assert child.continue_
    assert child.matchers[0].op is MatchOp.EQUAL
    assert RouteNode.model_validate(dict(route.spec)).receivers() == {"a", "b"}


def test_silence_of_gives_the_alerts_silence() -> None:
    s = silence_of(_parse(ROUND_TRIPS[5]))
    assert s.id == "x"
    assert (s.ends_at - s.starts_at).total_seconds() == 5400
    assert s.mutes({"monitor": "m"}, s.starts_at)


def test_build_notifier_reads_secrets_from_the_environment_only() -> None:
    hook = _parse(ROUND_TRIPS[3])
    notifier = build_notifier(hook, {"HOOK": "http://127.0.0.1:9/h", "S": "k"})
    assert notifier.kind == "webhook"
    with pytest.raises(InvalidInput) as err:
        build_notifier(hook, {"HOOK": "http://127.0.0.1:9/h"})
    assert err.value.errors[0].path == "spec.settings.secretFromEnv"


def test_registry_names_the_unknown_kind_or_version() -> None:
    assert {k for _, k in KINDS} == {
        "Monitor", "AlertRoute", "Receiver", "Silence", "SLO", "ReportSchedule",
        "SLI", "AlertPolicy", "AlertCondition",
    }  # fmt: skip
    with pytest.raises(InvalidInput) as kind:
        handler_for({"apiVersion": "llmpulse/v1", "kind": "Slo"})
    assert kind.value.errors[0].path == "kind"
    with pytest.raises(InvalidInput) as version:
        handler_for({"apiVersion": "openslo/v2", "kind": "SLO"})
    assert version.value.errors[0].path == "apiVersion"
