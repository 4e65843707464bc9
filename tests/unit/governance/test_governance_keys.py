"""API keys: hashed storage, verification, revocation, scopes; UI session cookies."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.clock import ManualClock
from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.domain.keys import Principal, Scope, parse_scopes
from llmpulse.governance.keys import KeyService, key_id_of
from llmpulse.governance.sessions import SessionSigner, load_secret, same_token
from llmpulse.store.state.sql import SqlStateStore

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def state() -> Iterator[SqlStateStore]:
    store = SqlStateStore("sqlite://")
    yield store
    store.close()


@pytest.fixture
def keys(state: SqlStateStore) -> KeyService:
    return KeyService(state, ManualClock(NOW))


def test_only_the_tokens_hash_is_stored(keys: KeyService, state: SqlStateStore) -> None:
    created = keys.create("ci", frozenset({Scope.INGEST}), None)
    record = state.get_api_key(created.record.key_id)
    assert record is not None
    assert record.token_sha256 == hashlib.sha256(created.token.encode()).hexdigest()
    with state.engine.connect() as conn:
        dump = "\n".join(conn.connection.iterdump())
    assert created.token not in dump
    secret = created.token.split("_", 2)[2]  # after lp_<key id>_; may itself hold "_"
    assert len(secret) == 43
    assert secret not in dump
    assert key_id_of(created.token) == created.record.key_id


def test_verify_accepts_the_token_and_nothing_close_to_it(keys: KeyService) -> None:
    created = keys.create("reader", frozenset({Scope.READ}), "shop")
    principal = keys.verify(created.token)
    assert principal == Principal(created.record.key_id, "reader", frozenset({Scope.READ}), "shop")
    last = created.token[-1]
    tampered = created.token[:-1] + ("A" if last != "A" else "B")
    assert keys.verify(tampered) is None
    assert keys.verify("lp_" + "0" * 12 + "_" + "x" * 43) is None
    assert keys.verify("") is None
    assert keys.verify(created.token + "x") is None


def test_revoked_key_stops_verifying_at_once(keys: KeyService) -> None:
    created = keys.create("old", frozenset({Scope.ADMIN}), None)
    assert keys.verify(created.token) is not None
    assert keys.any_active()
    revoked = keys.revoke(created.record.key_id)
    assert revoked.revoked_at == NOW
    assert keys.verify(created.token) is None
    assert not keys.any_active()
    with pytest.raises(NotFound):
        keys.revoke(created.record.key_id)
    assert [r.key_id for r in keys.list()] == [created.record.key_id]


def test_another_process_revoking_is_seen_after_the_cache_ttl(
    keys: KeyService, state: SqlStateStore
) -> None:
    created = keys.create("shared", frozenset({Scope.READ}), None)
    assert keys.verify(created.token) is not None
    other = KeyService(state, ManualClock(NOW))  # stands for `llmpulse keys revoke`
    other.revoke(created.record.key_id)
    keys._cache.clear()  # what the 2-second TTL does
    assert keys.verify(created.token) is None


def test_admin_implies_every_scope_and_project_keys_see_one_project() -> None:
    admin = Principal("a", "a", frozenset({Scope.ADMIN}), None)
    assert all(admin.has(s) for s in Scope)
    ingest = Principal("i", "i", frozenset({Scope.INGEST}), "shop")
    assert ingest.has(Scope.INGEST)
    assert not ingest.has(Scope.READ)
    assert not ingest.has(Scope.ADMIN)
    assert ingest.sees("shop")
    assert not ingest.sees("other")


def test_parse_scopes_names_the_bad_one() -> None:
    assert parse_scopes(["read,ingest"]) == frozenset({Scope.READ, Scope.INGEST})
    with pytest.raises(ValueError, match="'write'"):
        parse_scopes(["write"])
    with pytest.raises(ValueError, match="at least one"):
        parse_scopes([])


def test_create_refuses_bad_names_and_empty_scopes(keys: KeyService) -> None:
    with pytest.raises(InvalidInput):
        keys.create("", frozenset({Scope.READ}), None)
    with pytest.raises(InvalidInput):
        keys.create("ok", frozenset(), None)
    with pytest.raises(InvalidInput):
        keys.create("ok", frozenset({Scope.READ}), " ")


def test_session_cookie_round_trips_and_refuses_tampering_expiry_and_revocation(
    keys: KeyService, state: SqlStateStore
) -> None:
    created = keys.create("ui", frozenset({Scope.READ}), None)
    secret = load_secret(state, NOW)
    assert load_secret(state, NOW + timedelta(days=1)) == secret  # kept, not regenerated
    signer = SessionSigner(secret, keys, timedelta(hours=1))
    principal = keys.verify(created.token)
    assert principal is not None
    cookie = signer.issue(principal, NOW)
    assert signer.check(cookie, NOW + timedelta(minutes=59)) == principal
    assert signer.check(cookie, NOW + timedelta(minutes=61)) is None
    key_id, expires, mac = cookie.split(".")
    later = str(int(expires) + 86_400)
    assert signer.check(f"{key_id}.{later}.{mac}", NOW) is None
    assert signer.check(f"{key_id}.{expires}.{'0' * len(mac)}", NOW) is None
    other = SessionSigner(b"another secret", keys, timedelta(hours=1))
    assert other.check(cookie, NOW) is None
    assert signer.check("garbage", NOW) is None
    keys.revoke(created.record.key_id)
    assert signer.check(cookie, NOW) is None


def test_same_token_needs_both_sides() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd")
    assert not same_token("", "")
    assert not same_token(None, "abc")
