"""StateStore contract on SQLite (PostgreSQL joins the fixture's params later)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import Project
from llmpulse.store.state.migrate import current_revision, head_revision, upgrade_to_head
from llmpulse.store.state.sql import SqlStateStore

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite-file", "sqlite-memory"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return (
        f"sqlite:///{tmp_path / 'state.sqlite'}" if request.param == "sqlite-file" else "sqlite://"
    )


@pytest.fixture
def state_store(state_url: str) -> Iterator[SqlStateStore]:
    store = SqlStateStore(state_url)
    yield store
    store.close()


def test_migrations_reach_head_when_database_is_empty(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        assert current_revision(engine) is None
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision() is not None
        assert {"projects", "alembic_version"} <= set(inspect(engine).get_table_names())
        upgrade_to_head(engine)  # a second run is a no-op
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_ensure_projects_creates_each_name_once(state_store: SqlStateStore) -> None:
    state_store.ensure_projects([ProjectName("b"), ProjectName("a"), ProjectName("b")], NOW)
    state_store.ensure_projects([ProjectName("a"), ProjectName("c")], NOW + timedelta(hours=1))
    assert state_store.list_projects() == [
        Project(ProjectName("a"), NOW),
        Project(ProjectName("b"), NOW),
        Project(ProjectName("c"), NOW + timedelta(hours=1)),
    ]


def test_ensure_projects_keeps_first_creation_when_another_store_created_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    one, two = SqlStateStore(url), SqlStateStore(url)
    try:
        one.ensure_projects([ProjectName("p")], NOW)
        two.ensure_projects([ProjectName("p")], NOW + timedelta(days=1))
        assert two.get_project(ProjectName("p")) == Project(ProjectName("p"), NOW)
    finally:
        one.close()
        two.close()


def test_get_project_returns_aware_utc_or_none(state_store: SqlStateStore) -> None:
    cet = timezone(timedelta(hours=1))
    state_store.ensure_projects([ProjectName("x")], datetime(2026, 1, 1, 13, 0, tzinfo=cet))
    got = state_store.get_project(ProjectName("x"))
    assert got is not None
    assert got.created_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert got.created_at.tzinfo is UTC
    assert state_store.get_project(ProjectName("missing")) is None


def test_ensure_projects_rejects_naive_time(state_store: SqlStateStore) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        state_store.ensure_projects([ProjectName("n")], datetime(2026, 1, 1))


def test_state_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    first = SqlStateStore(url)
    first.ensure_projects([ProjectName("kept")], NOW)
    first.close()
    again = SqlStateStore(url)
    try:
        assert [p.name for p in again.list_projects()] == ["kept"]
    finally:
        again.close()


def test_ensure_projects_is_safe_from_many_threads(state_store: SqlStateStore) -> None:
    names = [ProjectName(f"p{i}") for i in range(20)]
    threads = [
        threading.Thread(target=state_store.ensure_projects, args=(names[i::3], NOW))
        for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in state_store.list_projects()) == sorted(names)


def test_state_store_documents_round_trip_replace_and_delete(tmp_path: Path) -> None:
    store = SqlStateStore(f"sqlite:///{tmp_path / 'docs.sqlite'}")
    now = datetime(2026, 11, 23, tzinfo=UTC)
    store.put_document("cohort", "eu-enterprise", '{"a": 1}', now)
    store.put_document("cohort", "eu-enterprise", '{"a": 2}', now)
    store.put_document("cohort", "free", "{}", now)
    store.put_document("prices", "overrides", "{}", now)
    doc = store.get_document("cohort", "eu-enterprise")
    assert doc is not None
    assert doc.body == '{"a": 2}'
    assert doc.updated_at == now
    assert [d.name for d in store.list_documents("cohort")] == ["eu-enterprise", "free"]
    assert [d.name for d in store.list_documents("cohort", "eu-")] == ["eu-enterprise"]
    assert store.delete_document("cohort", "free") is True
    assert store.delete_document("cohort", "free") is False
    assert store.get_document("cohort", "free") is None
    store.close()


def test_list_documents_prefix_is_literal_and_case_sensitive(state_store: SqlStateStore) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for name in ("acme/a", "acme/b", "Acme/c", "acme2/d", "ac_e/e", "ac%e/f"):
        state_store.put_document("review_item", name, "{}", now)
    state_store.put_document("eval_rule", "acme/x", "{}", now)

    def names(prefix: str) -> list[str]:
        return [d.name for d in state_store.list_documents("review_item", prefix)]

    assert names("acme/") == ["acme/a", "acme/b"]
    assert names("ac_e/") == ["ac_e/e"]
    assert names("ac%e/") == ["ac%e/f"]
    assert names("nobody/") == []
    assert len(names("")) == 6
