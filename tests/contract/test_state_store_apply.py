"""StateStore contract: `apply_documents` writes a set of documents all at once, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from llmpulse.store.state.sql import SqlStateStore

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture
def state_store(tmp_path: Path) -> Iterator[SqlStateStore]:
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield store
    store.close()


def _names(store: SqlStateStore) -> dict[str, str]:
    return {d.name: d.body for d in store.list_documents("cohort")}


def test_apply_documents_puts_replaces_and_deletes_together(state_store: SqlStateStore) -> None:
    state_store.put_document("cohort", "p/a", "1", NOW)
    state_store.put_document("cohort", "p/b", "2", NOW)
    state_store.put_document("price", "p/a", "other kind", NOW)
    state_store.apply_documents("cohort", {"p/a": "10", "p/c": "30"}, ["p/b"], NOW)
    assert _names(state_store) == {"p/a": "10", "p/c": "30"}
    assert [d.body for d in state_store.list_documents("price")] == ["other kind"]


def test_apply_documents_changes_nothing_when_one_write_fails(state_store: SqlStateStore) -> None:
    state_store.put_document("cohort", "p/a", "1", NOW)
    state_store.put_document("cohort", "p/b", "2", NOW)
    broken: Any = None  # the body column is NOT NULL: the last insert of the batch fails
    with pytest.raises(Exception, match=r"(?i)null"):
        state_store.apply_documents("cohort", {"p/a": "10", "p/z": broken}, ["p/b"], NOW)
    assert _names(state_store) == {"p/a": "1", "p/b": "2"}
