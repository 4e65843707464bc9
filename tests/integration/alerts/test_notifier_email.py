"""The e-mail notifier against a local SMTP server (aiosmtpd)."""

from __future__ import annotations

from batches import LINK, alert, batch

from fakes.smtp import SmtpFake
from llmpulse.alerts.notifiers import AlertStatus, EmailNotifier, SmtpConfig
from support.aio import run as run_coro
from support.server import free_port


def config(port: int, *to: str) -> SmtpConfig:
    return SmtpConfig("127.0.0.1", port, "llmpulse@example.org", to or ("oncall@example.org",))


def test_email_is_delivered_with_text_and_html_parts() -> None:
    b = batch(alert("eu"), alert("us", AlertStatus.RESOLVED))
    with SmtpFake() as fake:
        d = run_coro(EmailNotifier(config(fake.port, "a@example.org", "b@example.org")).send(b))
    assert d.ok, d.detail
    ((sender, rcpts, msg),) = fake.messages
    assert sender == "llmpulse@example.org"
    assert rcpts == ["a@example.org", "b@example.org"]
    assert msg["Subject"] == "[FIRING:1] checkout-latency"
    assert msg["X-Llmpulse-Group-Key"] == b.group_key
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "firing: checkout-latency [region=eu] value 912.5, baseline 210, bounds [—, 450]" in text
    assert "resolved: checkout-latency [region=us]" in text
    assert LINK in text
    assert LINK.replace("&", "&amp;") in html


def test_email_permanent_refusal_is_final_and_temporary_is_retryable() -> None:
    with SmtpFake() as fake:
        fake.reject_rcpt["gone@example.org"] = "550 5.1.1 no such user"
        fake.reject_rcpt["busy@example.org"] = "451 4.3.0 try again later"
        gone = run_coro(EmailNotifier(config(fake.port, "gone@example.org")).send(batch()))
        busy = run_coro(EmailNotifier(config(fake.port, "busy@example.org")).send(batch()))
    assert (gone.ok, gone.retryable) == (False, False)
    assert "550" in gone.detail
    assert (busy.ok, busy.retryable) == (False, True)
    assert "451" in busy.detail
    assert fake.messages == []


def test_email_to_a_server_that_is_down_is_retryable() -> None:
    d = run_coro(EmailNotifier(config(free_port())).send(batch()))
    assert (d.ok, d.retryable) == (False, True)
