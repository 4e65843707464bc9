"""The stored configuration drives the runtime: a monitor, route and Slack receiver applied over
REST are evaluated by the server's scheduler and the alert reaches the Slack fake."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fakes.slack import slack_receiver
from llmpulse import Client
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]
DOCS = [
    {"apiVersion": "llmpulse/v1", "kind": "Receiver", "metadata": {"name": "oncall"},
     "spec": {"type": "slack", "settings": {"urlFromEnv": "TEST_SLACK_URL"}}},
    {"apiVersion": "llmpulse/v1", "kind": "AlertRoute",
     "metadata": {"name": "default", "project": "quiet"},
     "spec": {"receiver": "oncall", "group_by": ["alertname"], "group_wait": "1s"}},
    # A project that stopped sending spans: `no_data: alerting` reads the silence as a breach.
    {"apiVersion": "llmpulse/v1", "kind": "Monitor",
     "metadata": {"name": "traffic-stopped", "project": "quiet"},
     "spec": {"metric": "count", "every": "1m", "window": "10m", "for": 0,
              "no_data": "alerting", "severity": "critical"}},
]  # fmt: skip


@pytest.fixture
def server_and_slack(tmp_path: Path) -> Iterator[tuple[ServerProcess, list[dict[str, object]]]]:
    with slack_receiver() as slack:
        server = ServerProcess(
            tmp_path / "data", free_port(), 0, env={"TEST_SLACK_URL": slack.url + "/hook"}
        )
        server.start()
        try:
            messages: list[dict[str, object]] = []
            yield server, messages
            messages.extend(json.loads(r.body) for r in slack.requests)
        finally:
            server.stop()


def test_applied_monitor_fires_and_notifies_the_applied_receiver(
    server_and_slack: tuple[ServerProcess, list[dict[str, object]]],
) -> None:
    server, _ = server_and_slack
    span = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "openinference.project.name", "value": {"stringValue": "quiet"}}]},
        "scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "x",
                                    "startTimeUnixNano": "1700000000000000000",
                                    "endTimeUnixNano": "1700000000100000000"}]}]}]}  # fmt: skip
    r = httpx.post(f"{server.url}/v1/traces", json=span, timeout=30)
    assert r.status_code == 200, r.text
    with Client(server.url) as client:
        plan = client.apply(DOCS)
        assert plan["applied"] is True
        deadline = time.monotonic() + 60
        sent: list[dict[str, object]] = []
        while time.monotonic() < deadline and not sent:
            sent = [n for n in client.list_notifications("quiet") if n["status"] == "sent"]
            time.sleep(0.5)
        alerts = client.list_alerts("quiet")
    assert sent, "no notification was sent within 60 s"
    assert sent[0]["receiver"] == "oncall"
    assert sent[0]["alerts"] == ["traffic-stopped"]
    assert [a["status"] for a in alerts] == ["firing"]
