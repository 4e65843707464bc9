"""The monitor manifest: the issue's contract reads, round-trips, and bad fields are named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from llmpulse.domain.errors import InvalidInput
from llmpulse.monitors.spec import MonitorSpec

CONTRACT = """
apiVersion: llmpulse/v1
kind: Monitor
metadata: {name: checkout-latency, project: rag-demo}
spec:
  metric: latency_ms:p95
  every: 1m
  window: 10m
"""


def _doc(**spec: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(CONTRACT)
    doc["spec"] = {**doc["spec"], **spec}
    return doc


def test_issue_contract_reads_with_default_detector() -> None:
    spec = MonitorSpec.from_manifest(_doc())
    assert (spec.name, spec.project, spec.metric) == (
        "checkout-latency",
        "rag-demo",
        "latency_ms:p95",
    )
    assert spec.every == timedelta(minutes=1)
    assert spec.window == timedelta(minutes=10)
    assert spec.detector.name == "adaptive"


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"metric": "error:rate", "min_samples": 50, "for": "5m", "detector": {"name": "wilson"}},
        {"segment_by": "metadata.region", "labels": {"team": "search"}, "severity": "critical"},
        {"detector": {"name": "zscore", "params": {"k": 4.0}}, "no_data": "ok"},
    ],
)
def test_manifest_round_trips(extra: dict[str, Any]) -> None:
    spec = MonitorSpec.from_manifest(_doc(**extra))
    again = MonitorSpec.from_manifest(spec.to_manifest())
    assert again == spec
    assert again.to_manifest() == spec.to_manifest()


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"window": "10x"}, "spec.window"),
        ({"detector": {"name": "nope"}}, "spec.detector"),
        ({"detector": {"name": "zscore", "params": {"nope": 1}}}, "spec.detector"),
        ({"metric": "foo:bar"}, "spec.metric"),
        ({"typo": 1}, "spec.typo"),
        ({"min_samples": 0}, "spec.min_samples"),
        ({"for": "soon"}, "spec.for"),
    ],
)
def test_invalid_field_is_named(extra: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        MonitorSpec.from_manifest(_doc(**extra))
    assert [e.path for e in caught.value.errors] == [path]


def test_wrong_kind_and_bad_name_are_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        MonitorSpec.from_manifest({**_doc(), "kind": "SLO"})
    assert caught.value.errors[0].path == "kind"
    doc = _doc()
    doc["metadata"] = {"name": "Bad Name!", "project": "p"}
    with pytest.raises(InvalidInput) as caught:
        MonitorSpec.from_manifest(doc)
    assert caught.value.errors[0].path == "metadata.name"
