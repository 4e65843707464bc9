"""A local SMTP server (aiosmtpd) that keeps every message it accepts.

``reject_rcpt`` maps an address to an SMTP reply that refuses it (e.g. ``"550 5.1.1 no such
user"`` or ``"451 4.3.0 try later"``), as a real server does at ``RCPT TO``.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from support.server import free_port


class _Handler:
    def __init__(self, owner: SmtpFake) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.owner.reject_rcpt.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.owner.messages.append((envelope.mail_from or "", list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


class SmtpFake:
    """An SMTP server on 127.0.0.1; use as a context manager."""

    def __init__(self) -> None:
        """Prepare the server on a free port."""
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.reject_rcpt: dict[str, str] = {}
        self.port = free_port()
        self._controller: Any = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpFake:
        """Start the server."""
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self._controller.stop()
