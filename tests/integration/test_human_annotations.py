"""Human annotation over REST and the SDK: config, bulk, who and when, edit and delete one's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.keys import create_keys, otlp_body
from support.server import running_server

pytestmark = pytest.mark.integration
P = "labelled"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A server with two admin keys, alice and bob; yields its URL and their tokens."""
    data_dir: Path = tmp_path_factory.mktemp("human") / "data"
    tokens = create_keys(data_dir, {"alice": ("admin", None), "bob": ("admin", None)})
    with running_server(data_dir) as server:
        yield server.url, tokens


def _spans(url: str, token: str, n: int) -> list[str]:
    body, _, span_ids = otlp_body(P, n)
    r = httpx.post(f"{url}/v1/traces", json=body, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return span_ids


def test_annotators_annotate_in_bulk_and_edit_or_delete_only_their_own(
    keyed: tuple[str, dict[str, str]],
) -> None:
    url, tokens = keyed
    span_ids = _spans(url, tokens["alice"], 3)
    with Client(url, api_key=tokens["alice"]) as alice, Client(url, api_key=tokens["bob"]) as bob:
        config = {"correctness": ["correct", "incorrect"], "note": []}
        assert alice.set_annotation_config(P, config) == config
        assert bob.annotation_config(P) == config

        made = alice.annotate_spans(P, span_ids[:2], "correctness", label="correct", score=1.0)
        assert [a["span_id"] for a in made] == span_ids[:2]
        assert {a["annotator"] for a in made} == {"alice"}
        assert all(a["annotator_kind"] == "HUMAN" and a["created_at"] for a in made)

        with pytest.raises(LlmpulseApiError) as bad_label:
            alice.annotate_spans(P, span_ids[:1], "correctness", label="corect")
        assert bad_label.value.status == 400
        assert bad_label.value.errors[0].path == "label"
        assert "did you mean 'correct'" in bad_label.value.detail
        with pytest.raises(LlmpulseApiError) as bad_name:
            alice.annotate_spans(P, span_ids[:1], "corectness", label="correct")
        assert bad_name.value.errors[0].path == "name"
        assert "'correctness'" in bad_name.value.detail

        first = made[0]["id"]
        with pytest.raises(LlmpulseApiError) as other:
            bob.edit_annotation(first, label="incorrect")
        assert other.value.status == 403
        with pytest.raises(LlmpulseApiError) as other_delete:
            bob.delete_annotation(first)
        assert other_delete.value.status == 403

        edited = alice.edit_annotation(first, label="incorrect", note="wrong city")
        assert edited["label"] == "incorrect"
        assert edited["explanation"] == "wrong city"
        assert edited["score"] is None  # replaced, not merged
        assert edited["metadata"]["updated_at"]
        shown = alice.get_span_annotations(span_ids[0])
        assert [(a["label"], a["annotator"]) for a in shown] == [("incorrect", "alice")]

        assert alice.delete_annotation(made[1]["id"])["id"] == made[1]["id"]
        assert alice.get_span_annotations(span_ids[1]) == []
        with pytest.raises(LlmpulseApiError) as gone:
            alice.delete_annotation(made[1]["id"])
        assert gone.value.status == 404

        bobs = bob.annotate_spans(P, span_ids[2:], "note", note="looks fine")
        assert bobs[0]["annotator"] == "bob"
        assert bobs[0]["label"] is None


def test_logged_human_annotations_record_the_calling_key(
    keyed: tuple[str, dict[str, str]],
) -> None:
    url, tokens = keyed
    span_ids = _spans(url, tokens["bob"], 1)
    with Client(url, api_key=tokens["bob"]) as bob:
        bob.log_annotations([{"span_id": span_ids[0], "name": "thumbs", "label": "up"}])
        shown = bob.get_span_annotations(span_ids[0])
    assert [a["annotator"] for a in shown] == ["bob"]


def test_unknown_annotation_and_unknown_project_are_404(
    keyed: tuple[str, dict[str, str]],
) -> None:
    url, tokens = keyed
    auth = {"authorization": f"Bearer {tokens['alice']}"}
    r = httpx.patch(f"{url}/api/v1/annotations/nope", json={"label": "x"}, headers=auth)
    assert r.status_code == 404
    r = httpx.get(f"{url}/api/v1/projects/nope/annotation-config", headers=auth)
    assert r.status_code == 404
