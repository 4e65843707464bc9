"""The multi-document reader, the plan (diff) and the kind registry's extension point."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest

from llmpulse.config import kinds
from llmpulse.config.bundle import load_documents, parse_documents
from llmpulse.config.plan import final_state, plan
from llmpulse.config.resources import Resource, envelope
from llmpulse.domain.errors import InvalidInput

FILE = """
apiVersion: llmpulse/v1
kind: Monitor
metadata: {name: a, project: p}
spec: {metric: error:rate, window: 10m}
---
---
apiVersion: llmpulse/v1
kind: Monitor
metadata: {name: b, project: p}
spec: {metric: latency_ms:p95, window: 5m, labels: {team: x}}
---
apiVersion: llmpulse/v1
kind: Silence
metadata: {name: s, project: p}
spec: {matchers: ['a="b"'], starts_at: 2026-12-01T00:00:00Z, ends_at: 2026-12-02T00:00:00Z}
"""


def _m(name: str, project: str = "p", **spec: Any) -> Resource:
    return Resource("Monitor", project, name, {"metric": "error:rate", **spec})


def test_load_skips_empty_documents_and_turns_timestamps_into_text() -> None:
    docs = load_documents(FILE)
    assert [d["metadata"]["name"] for d in docs] == ["a", "b", "s"]
    assert docs[2]["spec"]["starts_at"] == "2026-12-01T00:00:00+00:00"
    assert [r.kind for r in parse_documents(docs)] == ["Monitor", "Monitor", "Silence"]


def test_yaml_syntax_errors_are_invalid_input() -> None:
    with pytest.raises(InvalidInput) as err:
        load_documents("a: [1,\n")
    assert err.value.errors[0].path == "documents"


def test_every_bad_document_is_reported_by_index_and_repeats_are_refused() -> None:
    docs = load_documents(FILE)
    docs[0]["spec"]["window"] = "x"
    docs[2]["spec"]["matchers"] = []
    docs.append(dict(docs[1]))
    with pytest.raises(InvalidInput) as err:
        parse_documents(docs)
    assert [e.path for e in err.value.errors] == [
        "documents[0].spec.window",
        "documents[2].spec.matchers",
        "documents[3].metadata.name",
    ]
    assert "repeats documents[1]" in err.value.errors[2].message


def test_plan_creates_updates_and_leaves_unchanged_and_lists_changed_fields() -> None:
    current = [_m("a", window="10m"), _m("b", window="5m"), _m("gone")]
    desired = [_m("a", window="10m"), _m("b", window="15m", labels={"t": "x"}), _m("new")]
    p = plan(desired, current, prune=False)
    assert [(c.action, c.name) for c in p.changes] == [
        ("unchanged", "a"), ("update", "b"), ("create", "new"),
    ]  # fmt: skip
    assert [(f.path, f.before, f.after) for f in p.changes[1].fields] == [
        ("spec.labels.t", None, "x"),
        ("spec.window", "5m", "15m"),
    ]
    assert p.has_changes
    assert p.count("delete") == 0


def test_prune_deletes_only_in_the_kinds_and_projects_of_the_desired_set() -> None:
    other_kind = Resource("Silence", "p", "s", {"matchers": []})
    other_project = _m("x", project="q")
    current = [_m("a"), _m("gone"), other_kind, other_project]
    p = plan([_m("a")], current, prune=True)
    assert [(c.action, c.name) for c in p.changes] == [("unchanged", "a"), ("delete", "gone")]
    after = final_state(current, p)
    assert set(after) == {r.key for r in (_m("a"), other_kind, other_project)}


def test_an_unchanged_plan_has_no_changes() -> None:
    p = plan([_m("a")], [_m("a")], prune=True)
    assert not p.has_changes


class _Echo:
    """A stand-in kind registered the way SLO kinds will be."""

    kind: ClassVar[str] = "Echo"
    project_scoped: ClassVar[bool] = True

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        project, name, spec = envelope(doc, project_scoped=True)
        return Resource(self.kind, project, name, spec)


@pytest.fixture
def echo_kind() -> Iterator[None]:
    kinds.KINDS[("example/v1", "Echo")] = _Echo()
    try:
        yield
    finally:
        del kinds.KINDS[("example/v1", "Echo")]


@pytest.mark.usefixtures("echo_kind")
def test_a_new_kind_is_one_registry_entry() -> None:
    doc = {"apiVersion": "example/v1", "kind": "Echo", "metadata": {"name": "e", "project": "p"},
           "spec": {"say": "hi"}}  # fmt: skip
    (r,) = parse_documents([doc])
    assert (r.kind, r.project, r.name, dict(r.spec)) == ("Echo", "p", "e", {"say": "hi"})
    assert "Echo" in kinds.stored_kinds()
