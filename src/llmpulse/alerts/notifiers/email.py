"""E-mail over SMTP: one message per batch, plain text and HTML, via the standard library.

``smtplib`` runs in a worker thread so the event loop is never blocked. STARTTLS and login
are used when configured. A 4xx SMTP reply or a connection failure is retryable; a 5xx reply
(recipient refused, message rejected) is final.
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import ClassVar

from llmpulse.alerts.notifiers.base import Alert, AlertBatch, Delivery, fmt_number


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to send mail.

    Attributes:
        host: SMTP server host.
        port: SMTP server port.
        sender: The ``From`` address.
        recipients: The ``To`` addresses.
        username: Login name (with ``password``); none = no login.
        password: Login password (a secret).
        starttls: Upgrade the connection with STARTTLS before sending.
        timeout_s: Socket timeout.
    """

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


def _line(alert: Alert) -> str:
    segment = ", ".join(f"{k}={v}" for k, v in sorted(alert.segment.items())) or "all"
    return (
        f"{alert.status.value}: {alert.labels.get('alertname', '?')} [{segment}] "
        f"value {fmt_number(alert.value)}, baseline {fmt_number(alert.baseline)}, "
        f"bounds [{fmt_number(alert.lower)}, {fmt_number(alert.upper)}]"
    )


def email_message(batch: AlertBatch, config: SmtpConfig) -> EmailMessage:
    """Return the message for ``batch`` (subject = the batch title)."""
    msg = EmailMessage()
    msg["Subject"] = batch.title
    msg["From"] = config.sender
    msg["To"] = ", ".join(config.recipients)
    msg["X-Llmpulse-Group-Key"] = batch.group_key
    lines = [_line(a) for a in batch.alerts]
    link = batch.link_url
    text = "\n".join([batch.title, "", *lines, "", link]).rstrip() + "\n"
    msg.set_content(text)
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    anchor = f'<p><a href="{html.escape(link)}">Open in llmpulse</a></p>' if link else ""
    msg.add_alternative(
        f"<h2>{html.escape(batch.title)}</h2><ul>{items}</ul>{anchor}", subtype="html"
    )
    return msg


def _send_blocking(msg: EmailMessage, config: SmtpConfig) -> None:
    with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username is not None and config.password is not None:
            smtp.login(config.username, config.password)
        smtp.send_message(msg, from_addr=config.sender, to_addrs=list(config.recipients))


class EmailNotifier:
    """Sends each batch as one e-mail over SMTP."""

    kind: ClassVar[str] = "email"

    def __init__(self, config: SmtpConfig) -> None:
        """Configure the notifier with an `SmtpConfig`."""
        self.config = config

    async def send(self, batch: AlertBatch) -> Delivery:
        """Send the message; classify SMTP failures as retryable (4xx, network) or final."""
        msg = email_message(batch, self.config)
        try:
            await asyncio.to_thread(_send_blocking, msg, self.config)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            temporary = all(400 <= code < 500 for code in codes)
            return Delivery(ok=False, retryable=temporary, detail=f"recipients refused: {codes}")
        except smtplib.SMTPResponseException as exc:
            detail = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            return Delivery(ok=False, retryable=400 <= exc.smtp_code < 500, detail=detail)
        except (smtplib.SMTPException, OSError) as exc:
            return Delivery(ok=False, retryable=True, detail=f"{type(exc).__name__}: {exc}")
        return Delivery(ok=True, detail=f"accepted for {len(self.config.recipients)} recipients")
