"""UI sessions and CSRF tokens.

A session cookie reads ``<key id>.<expiry unix s>.<mac>``: an HMAC-SHA256, under a server
secret kept in the StateStore (so sessions survive restarts and work on every replica), of
the key id, the expiry and the key's stored hash. Each request looks the key up again, so a
revoked key ends its sessions. CSRF tokens are random values of a separate cookie that every
form and mutating UI request must echo (double-submit; the cookies are SameSite=Strict).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from llmpulse.domain.keys import Principal
from llmpulse.governance.keys import KeyService
from llmpulse.store.api import StateStore

SECRET_KIND = "server-secret"
SECRET_NAME = "session"
SESSION_COOKIE = "llmpulse_session"
CSRF_COOKIE = "llmpulse_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def load_secret(state: StateStore, now: datetime) -> bytes:
    """The server's session secret, created on first use and then kept in the StateStore."""
    doc = state.get_document(SECRET_KIND, SECRET_NAME)
    if doc is None:
        state.put_document(SECRET_KIND, SECRET_NAME, secrets.token_hex(32), now)
        doc = state.get_document(SECRET_KIND, SECRET_NAME)
    assert doc is not None  # noqa: S101 - written just above
    return bytes.fromhex(doc.body)


def new_csrf_token() -> str:
    """A fresh CSRF token."""
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens; False when either is missing."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class SessionSigner:
    """Issues and checks UI session cookies for API keys."""

    def __init__(self, secret: bytes, keys: KeyService, lifetime: timedelta) -> None:
        """Sign with ``secret``; sessions last ``lifetime``."""
        self._secret = secret
        self._keys = keys
        self.lifetime = lifetime

    def _mac(self, key_id: str, expires: int, token_sha256: str) -> str:
        msg = f"{key_id}.{expires}.{token_sha256}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def issue(self, principal: Principal, now: datetime) -> str:
        """A cookie value for a principal that just proved its key."""
        record = self._keys.record(principal.key_id)
        if record is None:
            raise ValueError("the key was revoked")
        expires = int((now + self.lifetime).timestamp())
        mac = self._mac(record.key_id, expires, record.token_sha256)
        return f"{record.key_id}.{expires}.{mac}"

    def check(self, cookie: str | None, now: datetime) -> Principal | None:
        """The principal of a valid, unexpired session of an active key; else None."""
        parts = (cookie or "").split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        key_id, expires_s, mac = parts
        if int(expires_s) < now.timestamp():
            return None
        record = self._keys.record(key_id)
        if record is None:
            return None
        if not hmac.compare_digest(mac, self._mac(key_id, int(expires_s), record.token_sha256)):
            return None
        return Principal.of(record)


def sees(request: Any, project: str) -> bool:
    """True unless the request runs as a project-scoped key of another project.

    ``request`` is a Starlette request whose ``state.principal`` the server's access layer set;
    without one (no access layer) every project is visible.
    """
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal is None or principal.sees(project)


def annotator(request: Any) -> str:
    """Who a request annotates as: its API key's name (a UI login's key), else ``anonymous``."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal.name if principal is not None else "anonymous"
