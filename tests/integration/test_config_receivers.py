"""Receivers as configuration, and ``POST /api/v1/receivers/{name}/test`` through the real
notifiers to faithful Slack, webhook, PagerDuty and SMTP fakes on loopback.

The server reads every secret from its environment; the tests check that no secret value
ever comes back (receiver reads, export, audit log).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from fakes.http_receiver import HttpReceiver, Reply
from fakes.pagerduty import PagerDutyFake
from fakes.slack import slack_receiver
from fakes.smtp import SmtpFake
from fakes.webhook import webhook_receiver
from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.keys import create_keys
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration
ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
HOOK_SECRET = "hmac-secret-4711"
SMTP_PASSWORD = "smtp-password-4711"


@dataclass
class Rig:
    """A server whose environment points at four fakes."""

    server: ServerProcess
    slack: HttpReceiver
    hook: HttpReceiver
    pagerduty: PagerDutyFake
    smtp: SmtpFake
    secrets: tuple[str, ...]
    admin_token: str
    reader_token: str


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    data_dir = tmp_path_factory.mktemp("receivers") / "data"
    tokens = create_keys(
        data_dir, {"ops-admin": ("admin", None), "rcv-reader": ("read", "rcv-proj")}
    )
    pd = PagerDutyFake()
    with slack_receiver() as slack, webhook_receiver(secret=HOOK_SECRET) as hook, pd.receiver, \
            SmtpFake() as smtp:  # fmt: skip
        slack_url = slack.url + "/services/T000/B000/XXXX"
        env = {
            "SLACK_URL": slack_url, "HOOK_URL": hook.url + "/hook", "HOOK_SECRET": HOOK_SECRET,
            "PD_KEY": ROUTING_KEY, "SMTP_PASSWORD": SMTP_PASSWORD,
        }  # fmt: skip
        server = ServerProcess(data_dir, free_port(), 0, env=env)
        server.start()
        try:
            yield Rig(
                server, slack, hook, pd, smtp, (slack_url, HOOK_SECRET, ROUTING_KEY,
                SMTP_PASSWORD), tokens["ops-admin"], tokens["rcv-reader"],
            )  # fmt: skip
        finally:
            server.stop()


def _client(rig: Rig) -> Client:
    return Client(rig.server.url, api_key=rig.admin_token)


def test_each_receiver_type_delivers_a_test_notification_to_its_service(rig: Rig) -> None:
    with _client(rig) as c:
        c.put_receiver("team-slack", "slack", {"urlFromEnv": "SLACK_URL"})
        c.put_receiver(
            "team-hook", "webhook",
            {"url": "${HOOK_URL}", "secretFromEnv": "HOOK_SECRET", "format": "alertmanager"},
        )  # fmt: skip
        c.put_receiver(
            "team-pager", "pagerduty",
            {"routingKeyFromEnv": "PD_KEY", "url": rig.pagerduty.url},
        )  # fmt: skip
        c.put_receiver(
            "team-mail", "email",
            {"host": "127.0.0.1", "port": rig.smtp.port, "from": "llmpulse@example.com",
             "to": ["oncall@example.com"], "username": "u", "passwordFromEnv": "SMTP_PASSWORD"},
        )  # fmt: skip
        results = {n: c.test_receiver(n) for n in ("team-slack", "team-hook", "team-pager")}
    for name, d in results.items():
        assert d["ok"], (name, d)
        assert d["attempts"] == 1
    assert len(rig.slack.requests) == 1
    message = json.loads(rig.slack.requests[0].body)
    assert message["text"].startswith("[FIRING:1] llmpulse-test")
    hook_body = json.loads(rig.hook.requests[0].body)
    assert hook_body["version"] == "4"  # Alertmanager's webhook shape, signature verified
    assert hook_body["alerts"][0]["labels"]["alertname"] == "llmpulse-test"
    assert rig.pagerduty.events[0]["event_action"] == "trigger"
    assert rig.pagerduty.events[0]["routing_key"] == ROUTING_KEY


def test_email_test_reaches_the_smtp_server(rig: Rig) -> None:
    """Login is offered only over TLS by aiosmtpd, so this receiver sends without a login."""
    with _client(rig) as c:
        c.put_receiver(
            "plain-mail", "email",
            {"host": "127.0.0.1", "port": rig.smtp.port, "from": "llmpulse@example.com",
             "to": ["oncall@example.com", "lead@example.com"]},
        )  # fmt: skip
        d = c.test_receiver("plain-mail")
    assert d["ok"], d
    sender, recipients, msg = rig.smtp.messages[-1]
    assert sender == "llmpulse@example.com"
    assert recipients == ["oncall@example.com", "lead@example.com"]
    assert msg["Subject"] == "[FIRING:1] llmpulse-test"


def test_a_refusing_service_is_reported_not_raised_and_the_cli_exits_1(rig: Rig) -> None:
    with _client(rig) as c:
        c.put_receiver("flaky-slack", "slack", {"urlFromEnv": "SLACK_URL"})
        rig.slack.script.append(Reply(503, b"upstream down", {"Retry-After": "7"}))
        d = c.test_receiver("flaky-slack")
    assert not d["ok"]
    assert d["retryable"]
    assert "503" in d["detail"]
    rig.slack.script.append(Reply(400, b"invalid_blocks", {"Content-Type": "text/plain"}))
    got = subprocess.run(
        [sys.executable, "-m", "llmpulse", "receivers", "test", "flaky-slack"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LLMPULSE_URL": rig.server.url, "LLMPULSE_API_KEY": rig.admin_token},
    )  # fmt: skip
    assert got.returncode == 1
    assert got.stdout.startswith("FAILED: HTTP 400: invalid_blocks")


def test_a_secret_whose_variable_is_unset_is_a_400_naming_the_field(rig: Rig) -> None:
    with _client(rig) as c:
        c.put_receiver("no-env", "slack", {"urlFromEnv": "NOT_SET_ANYWHERE"})
        with pytest.raises(LlmpulseApiError) as err:
            c.test_receiver("no-env")
    assert err.value.status == 400
    assert err.value.errors[0].path == "spec.settings.urlFromEnv"
    assert "NOT_SET_ANYWHERE" in err.value.errors[0].message


def test_plain_secrets_are_refused_and_no_secret_value_is_ever_returned(rig: Rig) -> None:
    r = httpx.put(
        f"{rig.server.url}/api/v1/receivers/leaky",
        json={"spec": {"type": "pagerduty", "settings": {"routing_key": ROUTING_KEY}}},
        headers={"Authorization": f"Bearer {rig.admin_token}"},
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "spec.settings.routing_key"
    with _client(rig) as c:
        c.put_receiver("team-slack", "slack", {"urlFromEnv": "SLACK_URL"})
        texts = [
            json.dumps(c.list_receivers()), json.dumps(c.export()),
            json.dumps(c.audit_log(kind="Receiver", limit=1000)),
        ]  # fmt: skip
    for text in texts:
        for secret in rig.secrets:
            assert secret not in text


def test_a_receiver_a_route_uses_cannot_be_deleted_and_the_audit_names_the_key(rig: Rig) -> None:
    with _client(rig) as c:
        c.put_receiver("routed", "slack", {"urlFromEnv": "SLACK_URL"})
        c.put_route("rcv-proj", {"receiver": "routed", "group_by": ["alertname"]})
        with pytest.raises(LlmpulseApiError) as err:
            c.delete_receiver("routed")
        assert err.value.status == 409
        entries = c.audit_log(kind="AlertRoute", project="rcv-proj")
    assert entries[0]["actor"] == "ops-admin"
    assert entries[0]["after"] == {"group_by": ["alertname"], "receiver": "routed"}


def test_a_project_key_reads_only_its_projects_audit_and_export(rig: Rig) -> None:
    with _client(rig) as c:
        c.put_receiver("for-reader", "slack", {"urlFromEnv": "SLACK_URL"})
        c.put_route("rcv-proj", {"receiver": "for-reader"})
        c.put_route("other-proj", {"receiver": "for-reader"})
    with Client(rig.server.url, api_key=rig.reader_token) as reader:
        entries = reader.audit_log(limit=1000)
        assert entries
        assert {e["project"] for e in entries} == {"rcv-proj"}
        docs = reader.export()
        assert {d["metadata"].get("project") for d in docs if d["kind"] != "Receiver"} == {
            "rcv-proj"
        }
        with pytest.raises(LlmpulseApiError) as err:
            reader.audit_log(project="other-proj")
        assert err.value.status == 403
