"""Sessions and users over real HTTP on the demo data: REST and SDK agree with the spans (#12)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.server import ServerProcess, running_demo_server

pytestmark = pytest.mark.integration
P = "rag-demo"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("demo-sessions") / "data"
    with running_demo_server(data_dir, days=1, end="2026-12-04T16:00:00+0000") as server:
        yield server


def _get(server: ServerProcess, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/projects/{P}/{path}", params=params, timeout=60)


def _spans_of(server: ServerProcess, attr: str) -> list[dict[str, Any]]:
    """Every span matching ``attr`` (``key:value``), following the cursor."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"attr": attr, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = _get(server, "spans", **params)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["data"]
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def test_session_totals_match_its_spans_found_by_the_openinference_key(
    demo_server: ServerProcess,
) -> None:
    r = _get(demo_server, "sessions", sort="turns", order="desc", limit=5)
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    assert len(rows) == 5
    assert [x["turns"] for x in rows] == sorted((x["turns"] for x in rows), reverse=True)
    top = rows[0]
    spans = _spans_of(demo_server, f"session.id:{top['session_id']}")
    assert len(spans) == top["spans"]
    assert len({s["trace_id"] for s in spans}) == top["turns"]
    assert sum(s["total_tokens"] or 0 for s in spans) == top["total_tokens"]
    assert sum(s["status_code"] == "ERROR" for s in spans) == top["errors"]
    assert {s["user_id"] for s in spans} == {top["user_id"]}


@pytest.mark.parametrize(
    ("alias", "column"), [("session.id", "session_id"), ("user.id", "user_id")]
)
def test_openinference_names_group_metrics_over_rest(
    demo_server: ServerProcess, alias: str, column: str
) -> None:
    def groups(key: str) -> dict[str, int]:
        r = _get(demo_server, "metrics", metric="count", group_by=key, max_groups=20)
        assert r.status_code == 200, r.text
        return {row["group"][0]: row["n"] for row in r.json()["rows"]}

    by_alias = groups(alias)
    assert by_alias == groups(column)
    assert len(by_alias) == 20
    assert None not in by_alias  # a JSON lookup of the dotted name would find no value


def test_session_page_lists_turns_in_order_with_their_traces(demo_server: ServerProcess) -> None:
    top = _get(demo_server, "sessions", sort="turns", limit=1).json()["data"][0]
    r = _get(demo_server, f"sessions/{top['session_id']}")
    assert r.status_code == 200, r.text
    turns = r.json()["turns"]
    assert len(turns) == top["turns"]
    starts = [t["start_time"] for t in turns]
    assert starts == sorted(starts)
    for t in turns:
        assert t["input_value"]
        assert t["output_value"]
        trace = httpx.get(f"{demo_server.url}/api/v1/traces/{t['trace_id']}", timeout=30)
        assert trace.status_code == 200
        assert t["span_id"] in {root["span"]["span_id"] for root in trace.json()["roots"]}


def test_users_and_a_users_sessions(demo_server: ServerProcess) -> None:
    users = _get(demo_server, "users", sort="cost", order="desc", limit=3).json()["data"]
    costs = [u["cost_usd"] for u in users]
    assert costs == sorted(costs, reverse=True)
    u = users[0]
    r = _get(demo_server, f"users/{u['user_id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["cost_usd"] == pytest.approx(u["cost_usd"])  # float sums, any order
    assert {**body["user"], "cost_usd": None} == {**u, "cost_usd": None}
    assert len(body["sessions"]) == u["sessions"]
    assert sum(s["turns"] for s in body["sessions"]) == u["traces"]
    assert {s["user_id"] for s in body["sessions"]} == {u["user_id"]}


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("sessions", {"sort": "nope"}, 400, "sort"),
        ("sessions", {"limit": "0"}, 400, "limit"),
        ("users", {"order": "sideways"}, 400, "order"),
        ("sessions/no-such-session", {}, 404, None),
        ("users/no-such-user", {}, 404, None),
    ],
)
def test_bad_input_names_the_field_and_unknowns_are_404(
    demo_server: ServerProcess, path: str, params: dict[str, str], status: int, field: str | None
) -> None:
    r = _get(demo_server, path, **params)
    assert r.status_code == status, r.text
    if field is not None:
        assert field in {e["path"].split(".")[-1] for e in r.json()["errors"]}


def test_sdk_lists_sessions_and_users(demo_server: ServerProcess) -> None:
    with Client(demo_server.url, timeout=30.0) as c:
        frame = c.list_sessions(P, sort="tokens", limit=10)
        assert len(frame) == 10
        assert list(frame["total_tokens"]) == sorted(frame["total_tokens"], reverse=True)
        assert {"feedback_count", "feedback_mean_score", "turns"} <= set(frame.columns)
        session = c.get_session(P, str(frame["session_id"][0]))
        assert len(session["turns"]) == int(frame["turns"][0])
        users = c.list_users(P, sort="errors")
        user = c.get_user(P, str(users["user_id"][0]))
        assert user["user"]["errors"] == int(users["errors"][0])
        with pytest.raises(LlmpulseApiError) as err:
            c.get_session(P, "no-such-session")
        assert err.value.status == 404
