"""`KeyService`: create, list, revoke and verify API keys kept hashed in the StateStore.

A token reads ``lp_<key id>_<secret>``: the key id (12 hex characters) finds the row, the
secret carries 256 bits from `secrets`, and only ``sha256(token)`` is stored. Verification
compares hashes with `hmac.compare_digest`. Lookups are cached for `CACHE_TTL_S` seconds so
that ingest does not query SQLite on every request; a revocation made through this service
takes effect at once, one made by another process (``llmpulse keys revoke``) within the TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from llmpulse.clock import Clock
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.keys import ApiKeyRecord, Principal, Scope
from llmpulse.store.api import StateStore

TOKEN_PREFIX = "lp_"
CACHE_TTL_S = 2.0
_TOKEN = re.compile(r"^lp_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
_NAME = re.compile(r"^[\w .@:-]{1,200}$")


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh ``(key_id, token)``."""
    key_id = secrets.token_hex(6)
    return key_id, f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(token: str) -> str | None:
    """The lookup id inside a well-formed token, else None."""
    m = _TOKEN.match(token)
    return m.group(1) if m else None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: the stored record and the token, which is shown this once."""

    record: ApiKeyRecord
    token: str


class KeyService:
    """API keys over a `StateStore`."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        """Bind to the state store; ``clock`` stamps creation and revocation."""
        self._state = state
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, ApiKeyRecord | None]] = {}
        self._any: tuple[float, bool] | None = None

    def create(self, name: str, scopes: frozenset[Scope], project: str | None) -> CreatedKey:
        """Create a key and return its token (shown once; only its hash is kept).

        Raises:
            InvalidInput: an empty or odd name, no scope, or an empty project.
        """
        if not _NAME.match(name):
            raise InvalidInput("name: 1-200 letters, digits, spaces or . @ : - _",
                               [FieldError("name", "invalid key name")])  # fmt: skip
        if not scopes:
            raise InvalidInput("scopes: give at least one", [FieldError("scopes", "empty")])
        if project is not None and not project.strip():
            raise InvalidInput("project: empty", [FieldError("project", "empty")])
        key_id, token = new_token()
        record = ApiKeyRecord(key_id, name, hash_token(token), scopes, project, self._clock.now())
        self._state.add_api_key(record)
        self._forget()
        return CreatedKey(record, token)

    def list(self) -> list[ApiKeyRecord]:
        """Every key, revoked ones too, oldest first."""
        return self._state.list_api_keys()

    def revoke(self, key_id: str) -> ApiKeyRecord:
        """Revoke a key at once (sessions made with it end too).

        Raises:
            NotFound: no active key has this id.
        """
        if not self._state.revoke_api_key(key_id, self._clock.now()):
            raise NotFound(f"no active API key with id {key_id!r}")
        self._forget()
        record = self._state.get_api_key(key_id)
        assert record is not None  # noqa: S101 - revoked, never deleted
        return record

    def any_active(self) -> bool:
        """True when at least one key is active: the server then requires keys everywhere."""
        now = time.monotonic()
        cached = self._any
        if cached is not None and now - cached[0] < CACHE_TTL_S:
            return cached[1]
        found = any(r.active for r in self._state.list_api_keys())
        self._any = (now, found)
        return found

    def record(self, key_id: str) -> ApiKeyRecord | None:
        """The active key with this id (cached), else None."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < CACHE_TTL_S:
            return hit[1]
        record = self._state.get_api_key(key_id)
        if record is not None and not record.active:
            record = None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now, record)
        return record

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, active token; None for anything else."""
        key_id = key_id_of(token)
        if key_id is None:
            return None
        record = self.record(key_id)
        if record is None or not hmac.compare_digest(record.token_sha256, hash_token(token)):
            return None
        return Principal.of(record)

    def _forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self._any = None
