"""Saved cohorts over REST: define, list, filter metrics, compare against the rest."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration


def _load(server: ServerProcess, project: str) -> None:
    spans = []
    for i in range(240):
        tier = ("free", "pro", "enterprise")[i % 3]
        region = ("eu-west", "us-east")[i % 2]
        slow = tier == "enterprise" and region == "eu-west"
        spans.append(
            make_span(
                f"s{i}",
                start_ns=1_763_900_000_000_000_000 + i * 1_000_000_000,
                duration_ns=(900 if slow else 100) * 1_000_000 + i * 1000,
                attrs={"metadata": json.dumps({"tier": tier, "region": region})},
                error=slow and i % 4 == 0,
            )
        )
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=make_request(spans, project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200


def test_cohort_filters_metrics_and_compares_against_the_rest(live_server: ServerProcess) -> None:
    project = f"cohorts-{uuid.uuid4().hex[:6]}"
    _load(live_server, project)
    base = f"{live_server.url}/api/v1/projects/{project}"
    r = httpx.put(
        f"{base}/cohorts/eu-enterprise",
        json={"expression": "tier = 'enterprise' and region in ('eu-west')"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["conditions"][0] == {
        "key": "metadata.tier",
        "op": "=",
        "values": ["enterprise"],
    }
    assert [c["name"] for c in httpx.get(f"{base}/cohorts").json()["data"]] == ["eu-enterprise"]

    m = httpx.get(f"{base}/metrics", params={"metric": "count", "cohort": "eu-enterprise"}).json()
    assert m["rows"][0]["n"] == 40

    split = httpx.get(
        f"{base}/metrics", params={"metric": "latency_ms:mean", "group_by": "cohort:eu-enterprise"}
    ).json()
    assert split["group_by"] == ["cohort:eu-enterprise"]
    assert {tuple(r["group"]): r["n"] for r in split["rows"]} == {("in",): 40, ("out",): 200}

    seg = httpx.get(
        f"{base}/segments", params={"metric": "latency_ms:p50", "key": "cohort:eu-enterprise"}
    ).json()
    top = seg["data"][0]
    assert top["keys"] == {"cohort:eu-enterprise": "in"}
    assert top["rank"] == 1
    # a p95 of 40 spans rests on 2 values beyond it: listed as too small to test (METHODS §4.1)
    p95 = httpx.get(
        f"{base}/segments", params={"metric": "latency_ms:p95", "key": "cohort:eu-enterprise"}
    ).json()
    cohort = next(r for r in p95["data"] if r["keys"] == {"cohort:eu-enterprise": "in"})
    assert cohort["tested"] is False


def test_cohort_errors_name_the_problem(live_server: ServerProcess) -> None:
    project = f"cohorts-{uuid.uuid4().hex[:6]}"
    _load(live_server, project)
    base = f"{live_server.url}/api/v1/projects/{project}"
    bad = httpx.put(f"{base}/cohorts/x", json={"expression": "tier = 'a' or region = 'b'"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["path"] == "expression"
    missing = httpx.get(f"{base}/metrics", params={"metric": "count", "cohort": "nope"})
    assert missing.status_code == 404
    assert httpx.delete(f"{base}/cohorts/nope").status_code == 404
    httpx.put(f"{base}/cohorts/tmp", json={"expression": "model = gpt-4o"})
    assert httpx.delete(f"{base}/cohorts/tmp").status_code == 204
    assert httpx.get(f"{base}/cohorts/tmp").status_code == 404
