"""StateStore contract: forgetting a project removes its row and only its documents."""

from __future__ import annotations

from datetime import UTC, datetime

from llmpulse.domain.ids import ProjectName
from llmpulse.store.state.sql import SqlStateStore

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_delete_project_removes_its_row_and_documents_only() -> None:
    state = SqlStateStore("sqlite://")
    try:
        state.ensure_projects([ProjectName("a_b"), ProjectName("axb"), ProjectName("c")], NOW)
        state.put_document("cohort", "a_b/enterprise", "{}", NOW)
        state.put_document("cohort", "axb/enterprise", "{}", NOW)  # LIKE's _ must not match x
        state.put_document("project.retention", "a_b", '{"days": 3}', NOW)
        state.put_document("project.retention", "c", '{"days": 3}', NOW)
        state.put_document("prices", "a_b", "{}", NOW)  # not a project kind: kept
        assert state.delete_project(ProjectName("a_b")) is True
        assert [p.name for p in state.list_projects()] == ["axb", "c"]
        assert [d.name for d in state.list_documents("cohort")] == ["axb/enterprise"]
        assert [d.name for d in state.list_documents("project.retention")] == ["c"]
        assert state.get_document("prices", "a_b") is not None
        assert state.delete_project(ProjectName("a_b")) is False
        state.ensure_projects([ProjectName("a_b")], NOW)  # ingest after a delete recreates it
        assert [p.name for p in state.list_projects()] == ["a_b", "axb", "c"]
    finally:
        state.close()
