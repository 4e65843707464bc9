"""The fakes themselves, against example payloads in the services' documented shapes."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.pagerduty import PagerDutyFake, event_errors
from fakes.slack import slack_errors, slack_receiver
from fakes.smtp import SmtpFake
from fakes.webhook import alertmanager_errors, webhook_receiver

DATA = Path(__file__).parent.parent / "data" / "notifiers"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_slack_fake_accepts_the_documented_block_kit_message() -> None:
    with slack_receiver() as rx:
        r = httpx.post(rx.url + "/services/T0/B0/x", json=load("slack_blocks.json"))
    assert (r.status_code, r.text) == (200, "ok")


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda m: m["blocks"][0]["text"].update(text="x" * 151), "invalid_blocks"),
        (lambda m: m["blocks"][0]["text"].update(type="mrkdwn"), "invalid_blocks"),
        (lambda m: m["blocks"][2].update(fields=m["blocks"][2]["fields"] * 4), "invalid_blocks"),
        (lambda m: m["blocks"][5]["elements"][0]["text"].update(text="y" * 76), "invalid_blocks"),
        (lambda m: m.update(blocks=m["blocks"] * 9), "invalid_blocks"),
        (lambda m: m["blocks"].append({"type": "bogus"}), "invalid_blocks"),
        (lambda m: (m.pop("text"), m.pop("blocks")), "no_text"),
    ],
)
def test_slack_fake_refuses_what_slack_refuses(mutate: Any, code: str) -> None:
    message = load("slack_blocks.json")
    mutate(message)
    assert slack_errors(message)[0] == code
    with slack_receiver() as rx:
        r = httpx.post(rx.url + "/services/x", json=message)
    assert (r.status_code, r.text) == (400, code)


def test_slack_fake_refuses_a_body_that_is_not_json() -> None:
    with slack_receiver() as rx:
        r = httpx.post(rx.url + "/x", content=b"{not json")
    assert (r.status_code, r.text) == (400, "invalid_payload")


def test_pagerduty_fake_accepts_documented_trigger_then_resolve() -> None:
    fake = PagerDutyFake()
    with fake.receiver:
        t = httpx.post(fake.url, json=load("pagerduty_trigger.json"))
        assert fake.alerts == {"srv01/mysql": "triggered"}
        r = httpx.post(fake.url, json=load("pagerduty_resolve.json"))
    assert t.status_code == 202
    assert t.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "srv01/mysql",
    }
    assert r.status_code == 202
    assert fake.alerts == {"srv01/mysql": "resolved"}


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("routing_key",), "short", "routing_key"),
        (("event_action",), "explode", "event_action"),
        (("payload", "severity"), "fatal", "severity"),
        (("payload", "summary"), "s" * 1025, "summary"),
        (("payload", "source"), "", "source"),
        (("payload", "timestamp"), "yesterday", "timestamp"),
        (("dedup_key",), "k" * 256, "dedup_key"),
    ],
)
def test_pagerduty_fake_refuses_invalid_events(
    path: tuple[str, ...], value: str, needle: str
) -> None:
    event = copy.deepcopy(load("pagerduty_trigger.json"))
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    fake = PagerDutyFake()
    with fake.receiver:
        r = httpx.post(fake.url, json=event)
    assert r.status_code == 400
    body = r.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert any(needle in e for e in body["errors"])
    assert fake.alerts == {}


def test_pagerduty_fake_requires_a_dedup_key_to_resolve() -> None:
    event = load("pagerduty_resolve.json")
    del event["dedup_key"]
    assert any("dedup_key" in e for e in event_errors(event))


def test_alertmanager_shape_accepts_the_documented_payload() -> None:
    assert alertmanager_errors(load("alertmanager_v4.json")) == []


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(version="3"), "version"),
        (lambda d: d.pop("groupKey"), "groupKey"),
        (lambda d: d.update(truncatedAlerts="0"), "truncatedAlerts"),
        (lambda d: d["alerts"][0].pop("fingerprint"), "fingerprint"),
        (lambda d: d["alerts"][0]["labels"].update(value=1.5), "labels"),
        (lambda d: d["alerts"][1].update(endsAt="soon"), "endsAt"),
        (lambda d: d["alerts"][0].update(endsAt=None), "endsAt"),
        (lambda d: d.update(status="pending"), "status"),
    ],
)
def test_alertmanager_shape_refuses_departures(mutate: Any, needle: str) -> None:
    doc = load("alertmanager_v4.json")
    mutate(doc)
    errors = alertmanager_errors(doc)
    assert any(needle in e for e in errors), errors
    with webhook_receiver(alertmanager=True) as rx:
        assert httpx.post(rx.url, json=doc).status_code == 400


def test_webhook_fake_checks_the_signature() -> None:
    body = (DATA / "alertmanager_v4.json").read_bytes()
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    with webhook_receiver(secret="s3cret", alertmanager=True) as rx:
        ok = httpx.post(rx.url, content=body, headers={"X-Llmpulse-Signature": good})
        bad = httpx.post(rx.url, content=body, headers={"X-Llmpulse-Signature": good[:-1] + "0"})
        none = httpx.post(rx.url, content=body)
    assert (ok.status_code, bad.status_code, none.status_code) == (200, 401, 401)


def test_smtp_fake_accepts_mail_and_refuses_listed_recipients() -> None:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "hi", "a@example.org", "b@example.org"
    msg.set_content("body")
    with SmtpFake() as fake:
        fake.reject_rcpt["nobody@example.org"] = "550 5.1.1 no such user"
        with smtplib.SMTP("127.0.0.1", fake.port, timeout=5) as smtp:
            smtp.send_message(msg)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.send_message(msg, to_addrs=["nobody@example.org"])
    assert [(f, t, m["Subject"]) for f, t, m in fake.messages] == [
        ("a@example.org", ["b@example.org"], "hi")
    ]
