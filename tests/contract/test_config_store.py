"""The configuration-object store: transactional writes, optimistic checks, audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmpulse.domain.errors import Conflict
from llmpulse.store.config_api import AuditQuery, ObjectWrite
from llmpulse.store.state.config_store import SqlConfigStore, config_store_for
from llmpulse.store.state.sql import SqlStateStore

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite-file", "sqlite-memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlConfigStore]:
    url = f"sqlite:///{tmp_path / 's.sqlite'}" if request.param == "sqlite-file" else "sqlite://"
    state = SqlStateStore(url)
    yield config_store_for(state)
    state.close()


def _create(name: str, spec: str = '{"a":1}', project: str = "p") -> ObjectWrite:
    return ObjectWrite("Monitor", project, name, "create", None, spec)


def test_writes_and_reads_back_with_one_audit_entry_each(store: SqlConfigStore) -> None:
    store.write_objects([_create("a"), _create("b"), _create("c", project="q")], "alice", NOW)
    assert [o.name for o in store.list_objects("Monitor")] == ["a", "b", "c"]
    assert [o.name for o in store.list_objects("Monitor", "p")] == ["a", "b"]
    got = store.get_object("Monitor", "p", "a")
    assert got is not None
    assert (got.spec, got.created_at, got.updated_by) == ('{"a":1}', NOW, "alice")
    later = NOW + timedelta(minutes=5)
    upd = ObjectWrite("Monitor", "p", "a", "update", '{"a":1}', '{"a":2}')
    store.write_objects([upd], "bob", later)
    got = store.get_object("Monitor", "p", "a")
    assert got is not None
    assert (got.spec, got.created_at, got.updated_at, got.updated_by) == (
        '{"a":2}', NOW, later, "bob",
    )  # fmt: skip
    entries = store.audit(AuditQuery(project="p", name="a"))
    assert [(e.action, e.actor, e.before, e.after, e.at) for e in entries] == [
        ("update", "bob", '{"a":1}', '{"a":2}', later),
        ("create", "alice", None, '{"a":1}', NOW),
    ]


def test_a_conflict_anywhere_in_a_batch_writes_nothing(store: SqlConfigStore) -> None:
    store.write_objects([_create("a")], "alice", NOW)
    with pytest.raises(Conflict):
        store.write_objects([_create("new"), _create("a")], "bob", NOW)
    assert [o.name for o in store.list_objects("Monitor")] == ["a"]
    assert len(store.audit(AuditQuery())) == 1


def test_a_stale_update_or_delete_is_refused(store: SqlConfigStore) -> None:
    store.write_objects([_create("a")], "alice", NOW)
    stale = ObjectWrite("Monitor", "p", "a", "update", '{"a":0}', '{"a":2}')
    with pytest.raises(Conflict, match="changed or deleted meanwhile"):
        store.write_objects([stale], "bob", NOW)
    gone = ObjectWrite("Monitor", "p", "zz", "delete", '{"a":1}', None)
    with pytest.raises(Conflict):
        store.write_objects([gone], "bob", NOW)
    delete = ObjectWrite("Monitor", "p", "a", "delete", '{"a":1}', None)
    store.write_objects([delete], "bob", NOW)
    assert store.get_object("Monitor", "p", "a") is None
    assert store.audit(AuditQuery(limit=1))[0].after is None


def test_audit_filters_and_pages_newest_first(store: SqlConfigStore) -> None:
    for i in range(5):
        store.write_objects([_create(f"m{i}")], "alice", NOW + timedelta(seconds=i))
    store.write_objects([ObjectWrite("Receiver", "", "r", "create", None, "{}")], "ui", NOW)
    first = store.audit(AuditQuery(kind="Monitor", limit=2))
    assert [e.name for e in first] == ["m4", "m3"]
    rest = store.audit(AuditQuery(kind="Monitor", before_id=first[-1].id))
    assert [e.name for e in rest] == ["m2", "m1", "m0"]
    assert [e.name for e in store.audit(AuditQuery(kind="Receiver"))] == ["r"]
