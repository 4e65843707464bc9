"""Inhibition over a real server: an AlertRoute's ``inhibit_rules`` applied over REST make a
firing critical alert mute the warning of the same service at the Slack fake, and the warning is
notified once the critical resolves. The warning of another service is never muted."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.http_receiver import Received
from fakes.slack import slack_receiver
from llmpulse import Client
from llmpulse.clock import SystemClock
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]
PROJECT = "shop"
RULE = {
    "source_matchers": ['severity="critical"'],
    "target_matchers": ['severity="warning"'],
    "equal": ["service"],
}
FAST = {"every": "2s", "for": 0}


def _monitor(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "llmpulse/v1", "kind": "Monitor",
            "metadata": {"name": name, "project": PROJECT}, "spec": {**FAST, **spec}}  # fmt: skip


RECEIVER = {"apiVersion": "llmpulse/v1", "kind": "Receiver", "metadata": {"name": "oncall"},
            "spec": {"type": "slack", "settings": {"urlFromEnv": "TEST_SLACK_URL"}}}  # fmt: skip
ROUTE = {"apiVersion": "llmpulse/v1", "kind": "AlertRoute",
         "metadata": {"name": "default", "project": PROJECT},
         "spec": {"receiver": "oncall", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h",
                  "inhibit_rules": [RULE]}}  # fmt: skip
# The critical: the median checkout call of the last minute slower than 1 s.
CRITICAL = _monitor("checkout-down", {
    "metric": "latency_ms:p50", "filters": ["name=checkout-call"], "window": "1m",
    "detector": {"name": "static", "params": {"upper": 1000}}, "severity": "critical",
    "labels": {"service": "checkout"}})  # fmt: skip
# Two warnings: any retry in the last 10 minutes, one per service.
WARNINGS = [
    _monitor(f"{svc}-retries", {
        "metric": "count", "filters": [f"name={svc}-retry"], "window": "10m",
        "detector": {"name": "static", "params": {"upper": 0.5}}, "severity": "warning",
        "labels": {"service": svc}})
    for svc in ("checkout", "search")
]  # fmt: skip


def _ingest(url: str, name: str, latency_ms: int) -> None:
    end = SystemClock().now()
    start = end - timedelta(milliseconds=latency_ms)
    span = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "openinference.project.name", "value": {"stringValue": PROJECT}}]},
        "scopeSpans": [{"spans": [{
            "traceId": f"{int(end.timestamp() * 1e6):032x}", "spanId": "cd" * 8, "name": name,
            "startTimeUnixNano": str(int(start.timestamp() * 1e9)),
            "endTimeUnixNano": str(int(end.timestamp() * 1e9))}]}]}]}  # fmt: skip
    r = httpx.post(f"{url}/v1/traces", json=span, timeout=30)
    assert r.status_code == 200, r.text


def _sent(client: Client) -> list[dict[str, Any]]:
    """Sent notifications, oldest first."""
    rows = client.list_notifications(PROJECT)
    return [n for n in reversed(rows) if n["status"] == "sent"]


def _wait(what: str, ok: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout_s} s")


@pytest.fixture
def server_and_slack(tmp_path: Path) -> Iterator[tuple[ServerProcess, list[Received]]]:
    with slack_receiver() as slack:
        server = ServerProcess(
            tmp_path / "data", free_port(), 0, env={"TEST_SLACK_URL": slack.url + "/hook"}
        )
        server.start()
        try:
            yield server, slack.requests
        finally:
            server.stop()


def _slack_texts(requests: list[Received]) -> list[str]:
    return [r.body.decode() for r in requests]


def _names(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [list(n["alerts"]) for n in rows]


def test_a_firing_critical_mutes_the_warning_of_its_service_until_it_resolves(
    server_and_slack: tuple[ServerProcess, list[Received]],
) -> None:
    server, requests = server_and_slack
    url = server.url
    _ingest(url, "checkout-call", 2000)
    for svc in ("checkout", "search"):
        _ingest(url, f"{svc}-retry", 10)
    with Client(url) as client:
        assert client.apply([RECEIVER, ROUTE, CRITICAL])["applied"] is True
        _wait("the critical notified", lambda: ["checkout-down"] in _names(_sent(client)))
        assert client.apply(WARNINGS)["applied"] is True
        _wait("the search warning notified", lambda: ["search-retries"] in _names(_sent(client)))
        # both warnings fire; a few more flushes pass and the checkout one stays muted
        firing = {a["monitor"] for a in client.list_alerts(PROJECT, status="firing")}
        assert firing == {"checkout-down", "checkout-retries", "search-retries"}
        time.sleep(8)
        assert ["checkout-retries"] not in _names(_sent(client))
        muted_at = len(requests)
        assert not any("checkout-retries" in t for t in _slack_texts(requests))
        # fast checkout calls bring the median under 1 s: the critical resolves
        for _ in range(4):
            _ingest(url, "checkout-call", 50)
        _wait("the warning notified", lambda: ["checkout-retries"] in _names(_sent(client)))
        sent = _sent(client)
        alerts = {a["monitor"]: a["status"] for a in client.list_alerts(PROJECT)}
    names = _names(sent)
    assert ["checkout-retries"] in names, f"the warning was never notified: {names}"
    resolved = next(
        i for i, n in enumerate(sent) if n["alerts"] == ["checkout-down"] and n["resolved"]
    )
    assert resolved < names.index(["checkout-retries"])
    assert alerts["checkout-down"] != "firing"
    assert alerts["checkout-retries"] == "firing"
    later = _slack_texts(requests[muted_at:])
    assert any("checkout-retries" in t for t in later)
    assert all(json.loads(t) for t in later)
