"""Search over REST, the export and the SDK on spans sent over OTLP: every searched field."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from llmpulse.sdk.client import Client
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration


def _load(server: ServerProcess, project: str) -> None:
    spans = [
        make_span("chain", attrs={"input.value": "Where is Zanzibar?", "output.value": "Africa"}),
        make_span(
            "retrieve",
            attrs={"retrieval.documents.0.document.content": "The OKAPI is a forest giraffe"},
        ),
        make_span(
            "llm",
            attrs={
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "tell me about quokkas",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "Quokkas smile",
            },
        ),
        make_span("failing", error=True, attrs={"metadata": json.dumps({"note": "okapi"})}),
    ]
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=make_request(spans, project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("zanzibar", ["chain"]),  # input value
        ("okapi", ["retrieve"]),  # a retrieved document, not the metadata
        ("QUOKKA", ["llm"]),  # input and output messages, any case
        ("boom", ["failing"]),  # the status message of an error
        ("100%", []),
    ],
)
def test_search_over_rest_and_the_sdk(
    live_server: ServerProcess, text: str, names: list[str]
) -> None:
    project = f"search-{uuid.uuid4().hex[:6]}"
    _load(live_server, project)
    base = f"{live_server.url}/api/v1/projects/{project}"
    r = httpx.get(f"{base}/spans", params={"q": text, "total": "true"})
    assert r.status_code == 200, r.text
    assert sorted(s["name"] for s in r.json()["data"]) == names
    assert r.json()["total"] == len(names)
    exported = httpx.get(f"{base}/spans/export", params={"q": text, "format": "jsonl"})
    assert exported.status_code == 200
    assert sorted(json.loads(line)["name"] for line in exported.text.splitlines()) == names
    with Client(live_server.url) as client:
        page = client.search_spans(project, text)
    assert sorted(s["name"] for s in page["data"]) == names
    assert page["total"] == len(names)
