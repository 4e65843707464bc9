"""`POST …/cohorts/apply` (and `Client.apply_cohorts`): the whole list or nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration


def _project(server: ServerProcess) -> str:
    project = f"apply-{uuid.uuid4().hex[:8]}"
    body = make_request([make_span("first")], project).SerializeToString()
    r = httpx.post(
        f"{server.url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
    )
    assert r.status_code == 200
    return project


def _spec(project: str, *cohorts: tuple[str, str]) -> dict[str, Any]:
    return {
        "kind": "CohortList",
        "project": project,
        "cohorts": [{"name": n, "expression": e} for n, e in cohorts],
    }


def _state(client: Client, project: str) -> list[tuple[str, str]]:
    return [(c["name"], c["expression"]) for c in client.list_cohorts(project)]


def test_apply_with_a_bad_expression_changes_nothing(live_server: ServerProcess) -> None:
    project = _project(live_server)
    with Client(live_server.url) as client:
        client.apply_cohorts(_spec(project, ("keep", "tier = 'pro'"), ("old", "tier = 'free'")))
        before = _state(client, project)
        bad = _spec(
            project,
            ("keep", "tier = 'enterprise'"),  # an update …
            ("new", "region = 'eu'"),  # … a create …
            ("broken", "tier = 'a' or b = 'c'"),  # … and an expression that does not parse
        )
        with pytest.raises(LlmpulseApiError) as info:
            client.apply_cohorts(bad, prune=True)
        assert info.value.status == 400
        assert _state(client, project) == before


def test_apply_refuses_repeated_names_naming_the_second(live_server: ServerProcess) -> None:
    project = _project(live_server)
    r = httpx.post(
        f"{live_server.url}/api/v1/projects/{project}/cohorts/apply",
        json={
            "cohorts": [
                {"name": "a", "expression": "tier = 'pro'"},
                {"name": "b", "expression": "tier = 'free'"},
                {"name": "a", "expression": "tier = 'enterprise'"},
            ]
        },
    )
    assert r.status_code == 400, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["cohorts[2].name"]
    with Client(live_server.url) as client:
        assert client.list_cohorts(project) == []


def test_apply_refuses_an_unknown_project(live_server: ServerProcess) -> None:
    project = f"never-seen-{uuid.uuid4().hex[:8]}"
    with Client(live_server.url) as client:
        with pytest.raises(LlmpulseApiError) as info:
            client.apply_cohorts(_spec(project, ("a", "tier = 'pro'")))
        assert info.value.status == 404
        assert client.list_cohorts(project) == []


def test_apply_creates_updates_prunes_in_one_go_and_plans_without_writing(
    live_server: ServerProcess,
) -> None:
    project = _project(live_server)
    with Client(live_server.url) as client:
        client.apply_cohorts(_spec(project, ("a", "tier = 'pro'"), ("b", "tier = 'free'")))
        spec = _spec(project, ("a", "tier = 'enterprise'"), ("c", "region = 'eu'"))
        plan = client.plan_cohorts(spec, prune=True)
        assert (plan.create, plan.update, plan.delete) == (["c"], ["a"], ["b"])
        assert _state(client, project) == [("a", "tier = 'pro'"), ("b", "tier = 'free'")]
        client.apply_cohorts(spec, prune=True)
        assert _state(client, project) == [("a", "tier = 'enterprise'"), ("c", "region = 'eu'")]
        again = client.plan_cohorts(spec, prune=True)
        assert (again.create, again.update, again.delete, again.unchanged) == (
            [],
            [],
            [],
            ["a", "c"],
        )
