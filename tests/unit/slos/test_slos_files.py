"""SLO files: our kind SLO and OpenSLO, validated with errors that name the field, exported
back, and stable under apply → export → apply (issue 11 item 4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmpulse.domain.errors import InvalidInput
from llmpulse.slos.manifests import export_documents, load_yaml, parse_documents
from llmpulse.slos.spec import SloSpec

D = "documents[0]."
DATA = Path(__file__).parents[2] / "data" / "slos"


def _load(name: str, project: str | None = "rag-demo") -> list[SloSpec]:
    return parse_documents(load_yaml((DATA / name).read_text()), project)


def test_openslo_readme_examples_apply_cleanly() -> None:
    foo, latency, p95 = _load("openslo_readme.yaml")
    assert foo.name == "foo-slo"
    assert foo.sli.type == "ratio"
    assert foo.objective == Decimal("0.98")
    assert foo.window == timedelta(days=28)  # no timeWindow: our default
    assert (foo.alerting.page, foo.alerting.ticket) == (False, True)  # via AlertCondition ref
    assert latency.sli.model_dump() == {"type": "latency", "threshold_ms": 2000.0}
    assert latency.objective == Decimal("0.99")
    assert latency.filter == "tier = 'enterprise'"
    assert (latency.alerting.page, latency.alerting.ticket) == (True, False)  # inline policy
    assert p95.window == "calendar_month"
    assert p95.sli.model_dump() == {
        "type": "latency_quantile", "threshold_ms": 3000.0, "quantile": 0.95,
        "slice": timedelta(minutes=10),
    }  # fmt: skip
    assert (p95.alerting.page, p95.alerting.ticket) == (False, False)  # no alert policy


@pytest.mark.parametrize("fmt", ["llmpulse", "openslo"])
@pytest.mark.parametrize("name", ["openslo_readme.yaml", "llmpulse_slos.yaml"])
def test_export_then_apply_gives_the_same_slos(name: str, fmt: str) -> None:
    first = _load(name)
    text = yaml.safe_dump_all(export_documents(first, fmt))
    again = parse_documents(load_yaml(text))  # the export names the project itself
    assert again == first
    assert yaml.safe_dump_all(export_documents(again, fmt)) == text


def _openslo(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "indicator": {"metadata": {"name": "x"}, "spec": {"thresholdMetric": {
            "metricSource": {"type": "llmpulse", "spec": {"metric": "latency_ms"}}}}},
        "objectives": [{"op": "lte", "value": 100, "target": 0.99}],
    }  # fmt: skip
    base.update(spec)
    if "indicatorRef" in spec:
        del base["indicator"]
    return {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "x"}, "spec": base}


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"apiVersion": "openslo/v2", "kind": "SLO"}, D + "apiVersion"),
        ({"apiVersion": "openslo/v1", "kind": "Nope"}, D + "kind"),
        (_openslo(objectives=[{"op": "lte", "value": 1}]), D + "spec.objectives[0].target"),
        (_openslo(objectives=[{"op": "gte", "value": 1, "target": 0.9}]),
         D + "spec.objectives[0].op"),
        (_openslo(objectives=[{"op": "lte", "value": 1, "target": 1.5}]), D + "spec.objective"),
        (_openslo(indicatorRef="missing"), D + "spec.indicatorRef"),
        (_openslo(budgetingMethod="RatioTimeslices"), D + "spec.budgetingMethod"),
        (_openslo(timeWindow=[{"duration": "1Q", "isRolling": False}]),
         D + "spec.timeWindow[0].duration"),
        (_openslo(timeWindow=[{"duration": "120d", "isRolling": True}]), D + "spec.window"),
        (_openslo(indicator={"metadata": {"name": "d"}, "spec": {"ratioMetric": {
            "good": {"metricSource": {"type": "Datadog", "spec": {"query": "sum:x"}}}}}}),
         D + "spec.indicator.spec.ratioMetric.good.metricSource.type"),
        (_openslo(alertPolicies=[{"kind": "AlertPolicy", "metadata": {"name": "p"}, "spec": {
            "conditions": [{"kind": "AlertCondition", "spec": {"severity": "sev1",
                            "condition": {"kind": "burnrate"}}}]}}]),
         D + "spec.alertPolicies[0].spec.conditions[0].spec.severity"),
        ({"apiVersion": "llmpulse/v1", "kind": "SLO", "metadata": {"name": "Bad Name"},
          "spec": {"objective": 0.9, "sli": {"type": "availability"}}}, D + "metadata.name"),
        ({"apiVersion": "llmpulse/v1", "kind": "SLO", "metadata": {"name": "a"},
          "spec": {"objective": 0.9, "sli": {"type": "latency"}}}, D + "spec.sli.threshold_ms"),
        ({"apiVersion": "llmpulse/v1", "kind": "SLO", "metadata": {"name": "a"},
          "spec": {"objective": 0.9, "sli": {"type": "ratio", "good": "tier ="}}},
         D + "spec.sli.good"),
        ({"apiVersion": "llmpulse/v1", "kind": "SLO", "metadata": {"name": "a"},
          "spec": {"objective": 0.9, "sli": {"type": "availability"}, "bogus": 1}},
         D + "spec.bogus"),
    ],
)  # fmt: skip
def test_invalid_files_name_the_field(doc: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_documents([doc], "p")
    assert path in [e.path for e in err.value.errors]


def test_not_yaml_is_refused() -> None:
    with pytest.raises(InvalidInput):
        load_yaml("a: [unclosed")
