"""The SDK sends every instant one way (`query_params.to_time`): naive datetimes as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx

from llmpulse.sdk.client import Client

NAIVE = datetime(2024, 5, 1, 12, 0)
AWARE = datetime(2024, 5, 2, 14, 0, tzinfo=timezone(timedelta(hours=2)))


def _client(seen: list[httpx.Request]) -> Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    client = Client("http://llmpulse.test", max_retries=0)
    client._http = httpx.Client(
        base_url="http://llmpulse.test", transport=httpx.MockTransport(answer)
    )
    return client


def test_instants_of_alerts_cohorts_and_sessions_calls_are_sent_alike() -> None:
    seen: list[httpx.Request] = []
    with _client(seen) as client:
        client.list_incidents("shop", start=NAIVE, end=AWARE)
        client.segment_changes_raw(
            "shop", "error:rate", ["model"], baseline_start=NAIVE, baseline_end=AWARE,
            start="2024-05-03T00:00:00Z",
        )  # fmt: skip
        client.list_sessions_raw("shop", start=NAIVE, end=AWARE)
    incidents, changes, sessions = (r.url.params for r in seen)
    naive_utc = NAIVE.replace(tzinfo=UTC).isoformat()
    assert (incidents["start"], incidents["end"]) == (naive_utc, AWARE.isoformat())
    assert (changes["baseline_start"], changes["baseline_end"]) == (naive_utc, AWARE.isoformat())
    assert changes["start"] == "2024-05-03T00:00:00Z"
    assert (sessions["start"], sessions["end"]) == (naive_utc, AWARE.isoformat())
