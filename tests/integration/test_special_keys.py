"""Attribute keys with quotes and other special characters are refused with a 400 naming the
parameter, on every route that takes a metric or a key: never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.otlp import make_request, make_span
from support.server import ServerProcess, running_server

pytestmark = [pytest.mark.integration]
PROJECT = "keys"
SPECIAL = ['a"b', '"', "a\\b", "a'b", "a b", "a]", "$", "a*", "a\nb", "é", "a\x00b", ";--", ""]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = Path(tmp_path_factory.mktemp("keys")) / "data"
    with running_server(data) as s:
        spans = [make_span(f"s{i}", attrs={"score": float(i), "tier": "pro"}) for i in range(40)]
        body = make_request(spans, PROJECT).SerializeToString()
        r = httpx.post(
            f"{s.url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
        )
        assert r.status_code == 200
        yield s


def _get(server: ServerProcess, route: str, params: list[tuple[str, str]]) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/projects/{PROJECT}/{route}", params=params, timeout=30)


def _assert_refused(r: httpx.Response, param: str) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    (error,) = r.json()["errors"]
    assert error["path"] == param or error["path"].startswith(f"{param}[")


@pytest.mark.parametrize("key", SPECIAL)
def test_metric_attribute_key_with_special_characters_is_a_400(
    server: ServerProcess, key: str
) -> None:
    _assert_refused(_get(server, "metrics", [("metric", f"attr.{key}:mean")]), "metric")
    r = _get(server, "segments", [("metric", f"attr.{key}:mean"), ("key", "tier")])
    _assert_refused(r, "metric")


@pytest.mark.parametrize("key", SPECIAL)
def test_group_and_filter_keys_with_special_characters_are_a_400(
    server: ServerProcess, key: str
) -> None:
    r = _get(server, "metrics", [("metric", "count"), ("group_by", f"metadata.{key}")])
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["path"].startswith("group_by")
    r = _get(server, "spans", [("attr", f"{key}:x")])
    assert r.status_code == 400, r.text


def test_valid_attribute_keys_still_answer(server: ServerProcess) -> None:
    r = _get(server, "metrics", [("metric", "attr.score:mean"), ("metric", "count")])
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    assert row["values"] == {"attr.score:mean": pytest.approx(19.5), "count": 40}
