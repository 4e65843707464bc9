"""Webhook, Slack and PagerDuty notifiers against faithful receivers on loopback."""

from __future__ import annotations

import json

from batches import LINK, alert, batch

from fakes.http_receiver import Reply
from fakes.pagerduty import PagerDutyFake
from fakes.slack import slack_errors, slack_receiver
from fakes.webhook import alertmanager_errors, webhook_receiver
from llmpulse.alerts.notifiers import (
    AlertStatus,
    PagerDutyNotifier,
    RetryPolicy,
    SlackNotifier,
    WebhookNotifier,
)
from llmpulse.alerts.notifiers.webhook import verify_signature
from support.aio import run as run_coro

ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"


class Sleeps:
    """Records the waits between attempts instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_webhook_signs_the_body_and_the_receiver_verifies_it() -> None:
    with webhook_receiver(secret="s3cret") as rx:
        d = run_coro(WebhookNotifier(rx.url + "/hook", secret="s3cret").send(batch()))
    assert d.ok
    assert d.attempts == 1
    req = rx.requests[0]
    assert verify_signature("s3cret", req.body, req.headers["x-llmpulse-signature"])
    doc = json.loads(req.body)
    assert doc["alerts"][0]["value"] == 912.5
    assert doc["alerts"][0]["bounds"] == {"lower": None, "upper": 450.0}


def test_webhook_with_the_wrong_secret_is_refused_and_not_retried() -> None:
    with webhook_receiver(secret="s3cret") as rx:
        d = run_coro(WebhookNotifier(rx.url, secret="other").send(batch()))
    assert (d.ok, d.retryable, d.attempts, len(rx.requests)) == (False, False, 1, 1)
    assert "401" in d.detail


def test_webhook_alertmanager_format_is_accepted_as_version_4() -> None:
    b = batch(alert("eu"), alert("us", AlertStatus.RESOLVED))
    with webhook_receiver(alertmanager=True) as rx:
        d = run_coro(WebhookNotifier(rx.url, payload_format="alertmanager").send(b))
    assert d.ok, d.detail
    doc = json.loads(rx.requests[0].body)
    assert alertmanager_errors(doc) == []
    assert doc["version"] == "4"
    assert doc["status"] == "firing"
    assert doc["groupKey"] == b.group_key
    assert doc["commonLabels"]["metric"] == "latency_ms:p95"
    assert "region" not in doc["commonLabels"]
    eu, us = doc["alerts"]
    assert eu["endsAt"] == "0001-01-01T00:00:00Z"
    assert us["endsAt"] == "2026-11-14T10:00:00Z"
    assert eu["annotations"]["value"] == "912.5"
    assert eu["generatorURL"] == LINK
    assert eu["fingerprint"] != us["fingerprint"]
    assert len(eu["fingerprint"]) == 16


def test_webhook_alertmanager_max_alerts_counts_truncated() -> None:
    b = batch(alert("eu"), alert("us"), alert("ap"))
    with webhook_receiver(alertmanager=True) as rx:
        n = WebhookNotifier(rx.url, payload_format="alertmanager", max_alerts=2)
        assert run_coro(n.send(b)).ok
    doc = json.loads(rx.requests[0].body)
    assert (len(doc["alerts"]), doc["truncatedAlerts"]) == (2, 1)


def test_webhook_retries_5xx_and_429_honouring_retry_after() -> None:
    sleeps = Sleeps()
    with webhook_receiver() as rx:
        rx.script = [Reply(503), Reply(429, headers={"Retry-After": "7"}), Reply(502)]
        policy = RetryPolicy(attempts=5, base_delay_s=0.5, max_delay_s=30)
        d = run_coro(WebhookNotifier(rx.url, retry=policy, sleep=sleeps).send(batch()))
    assert d.ok
    assert d.attempts == 4
    assert len(rx.requests) == 4
    # back-off 0.5, then Retry-After 7 beats back-off 1.0, then back-off 2.0
    assert sleeps.waits == [0.5, 7.0, 2.0]
    assert len({r.body for r in rx.requests}) == 1


def test_webhook_gives_up_after_the_attempts_and_says_it_may_be_retried_later() -> None:
    sleeps = Sleeps()
    with webhook_receiver() as rx:
        rx.script = [Reply(503, headers={"Retry-After": "120"})] * 3
        policy = RetryPolicy(attempts=3, base_delay_s=1, max_delay_s=10)
        d = run_coro(WebhookNotifier(rx.url, retry=policy, sleep=sleeps).send(batch()))
    assert (d.ok, d.retryable, d.retry_after_s, d.attempts) == (False, True, 120.0, 3)
    assert sleeps.waits == [10, 10]  # capped by max_delay_s


def test_webhook_to_a_closed_port_is_a_retryable_failure() -> None:
    with webhook_receiver() as rx:
        url = rx.url
    sleeps = Sleeps()
    d = run_coro(WebhookNotifier(url, retry=RetryPolicy(attempts=2), sleep=sleeps).send(batch()))
    assert (d.ok, d.retryable, d.attempts) == (False, True, 2)
    assert "ConnectError" in d.detail


def test_slack_message_is_valid_block_kit_with_the_evidence_and_link() -> None:
    b = batch(alert("eu"), alert("us", AlertStatus.RESOLVED))
    with slack_receiver() as rx:
        d = run_coro(SlackNotifier(rx.url + "/services/T/B/X").send(b))
    assert d.ok
    assert rx.replies[0].body == b"ok"
    msg = json.loads(rx.requests[0].body)
    assert slack_errors(msg) == ("", [])
    assert msg["blocks"][0]["text"]["text"] == "[FIRING:1] checkout-latency"
    fields = [f["text"] for f in msg["blocks"][1]["fields"]]
    assert fields[:5] == [
        "*Metric*\nlatency_ms:p95",
        "*Value*\n912.5",
        "*Baseline*\n210",
        "*Bounds*\n[—, 450]",
        "*Segment*\nregion=eu",
    ]
    assert msg["blocks"][-1]["elements"][0]["url"] == LINK


def test_slack_message_stays_within_block_limits_for_a_large_group() -> None:
    b = batch(*(alert(f"r{i}") for i in range(120)))
    with slack_receiver() as rx:
        d = run_coro(SlackNotifier(rx.url).send(b))
    assert d.ok, d.detail
    msg = json.loads(rx.requests[0].body)
    assert len(msg["blocks"]) <= 50
    assert msg["blocks"][-2]["elements"][0]["text"] == "and 80 more"


def test_slack_rate_limit_is_retried_after_retry_after() -> None:
    sleeps = Sleeps()
    with slack_receiver() as rx:
        rx.script = [Reply(429, b"rate_limited", {"Retry-After": "3"})]
        d = run_coro(SlackNotifier(rx.url, sleep=sleeps).send(batch()))
    assert d.ok
    assert d.attempts == 2
    assert sleeps.waits == [3.0]


def test_slack_refusal_is_final() -> None:
    with slack_receiver() as rx:
        rx.script = [Reply(404, b"no_service")]
        d = run_coro(SlackNotifier(rx.url).send(batch()))
    assert (d.ok, d.retryable, d.attempts) == (False, False, 1)
    assert "no_service" in d.detail


def test_pagerduty_trigger_then_resolve_share_the_dedup_key() -> None:
    fake = PagerDutyFake()
    firing = batch(alert("eu"), alert("us"))
    resolved = batch(alert("eu", AlertStatus.RESOLVED), alert("us", AlertStatus.RESOLVED))
    with fake.receiver:
        n = PagerDutyNotifier(ROUTING_KEY, url=fake.url, source="rag-demo")
        first = run_coro(n.send(firing))
        again = run_coro(n.send(firing))
        assert fake.alerts == {firing.group_key: "triggered"}
        done = run_coro(n.send(resolved))
    assert first.ok
    assert again.ok
    assert done.ok
    assert [r.status for r in fake.receiver.replies] == [202, 202, 202]
    assert fake.alerts == {firing.group_key: "resolved"}
    trigger, _, resolve = fake.events
    assert trigger["dedup_key"] == resolve["dedup_key"] == firing.group_key
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": firing.group_key,
    }
    p = trigger["payload"]
    assert (p["severity"], p["source"], p["component"], p["class"]) == (
        "critical",
        "rag-demo",
        "checkout-latency",
        "latency_ms:p95",
    )
    assert p["custom_details"]["alerts"][0]["value"] == 912.5
    assert trigger["links"] == [{"href": LINK, "text": "Open in llmpulse"}]


def test_pagerduty_long_group_key_becomes_a_stable_255_char_dedup_key() -> None:
    fake = PagerDutyFake()
    b = batch(group_key="g" * 400)
    with fake.receiver:
        n = PagerDutyNotifier(ROUTING_KEY, url=fake.url)
        assert run_coro(n.send(b)).ok
        assert run_coro(n.send(b)).ok
    keys = {e["dedup_key"] for e in fake.events}
    assert len(keys) == 1
    assert len(keys.pop()) == 64


def test_pagerduty_invalid_event_is_not_retried() -> None:
    fake = PagerDutyFake()
    with fake.receiver:
        d = run_coro(PagerDutyNotifier("too-short", url=fake.url).send(batch()))
    assert (d.ok, d.retryable, d.attempts) == (False, False, 1)
    assert "routing_key" in d.detail
    assert fake.alerts == {}


def test_pagerduty_429_is_retried() -> None:
    fake = PagerDutyFake()
    sleeps = Sleeps()
    with fake.receiver:
        fake.receiver.script = [Reply(429, b"{}"), Reply(500)]
        d = run_coro(PagerDutyNotifier(ROUTING_KEY, url=fake.url, sleep=sleeps).send(batch()))
    assert d.ok
    assert d.attempts == 3
    assert sleeps.waits == [0.5, 1.0]
    assert fake.alerts == {batch().group_key: "triggered"}
