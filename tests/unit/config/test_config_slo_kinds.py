"""SLO and ReportSchedule documents in the config bundle: one resource per SLO, errors by index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmpulse.config.bundle import load_documents, parse_documents
from llmpulse.domain.errors import InvalidInput

DATA = Path(__file__).resolve().parents[2] / "data" / "slos"
MONITOR = {
    "apiVersion": "llmpulse/v1", "kind": "Monitor",
    "metadata": {"name": "m", "project": "p"},
    "spec": {"metric": "error:rate", "every": "1m", "window": "10m"},
}  # fmt: skip


def test_openslo_files_become_one_slo_resource_per_slo_and_parse_again_from_the_export() -> None:
    docs = load_documents((DATA / "openslo_readme.yaml").read_text())
    resources = parse_documents(docs, "p")
    slos = [d["metadata"]["name"] for d in docs if d["kind"] == "SLO"]
    assert [(r.kind, r.project, r.name) for r in resources] == [("SLO", "p", n) for n in slos]
    again = parse_documents([r.manifest() for r in resources])
    assert [r.spec_json for r in again] == [r.spec_json for r in resources]


def test_slo_errors_name_the_document_by_its_index_in_the_whole_file() -> None:
    docs: list[Any] = load_documents((DATA / "openslo_readme.yaml").read_text())
    ref = next(i for i, d in enumerate(docs) if "indicatorRef" in d["spec"])
    docs[ref]["spec"]["indicatorRef"] = "missing"
    with pytest.raises(InvalidInput) as err:
        parse_documents([MONITOR, *docs], "p")
    assert [e.path for e in err.value.errors] == [f"documents[{ref + 1}].spec.indicatorRef"]


def test_an_slo_without_a_project_needs_one_from_the_request() -> None:
    docs = load_documents((DATA / "openslo_readme.yaml").read_text())
    with pytest.raises(InvalidInput) as err:
        parse_documents(docs)
    assert err.value.errors[0].path.startswith("documents[0].metadata.project")


def test_report_schedules_parse_canonically_and_errors_name_the_field() -> None:
    doc = {
        "apiVersion": "llmpulse/v1", "kind": "ReportSchedule",
        "metadata": {"name": "weekly", "project": "p"},
        "spec": {"report": "digest", "every": "weekly", "weekday": 0, "hour": 8,
                 "receivers": ["team"]},
    }  # fmt: skip
    (r,) = parse_documents([doc])
    assert (r.kind, r.project, r.name) == ("ReportSchedule", "p", "weekly")
    assert parse_documents([r.manifest()])[0].spec_json == r.spec_json
    bad = {**doc, "spec": {**doc["spec"], "hour": 25}}  # type: ignore[dict-item]
    with pytest.raises(InvalidInput) as err:
        parse_documents([MONITOR, bad])
    assert [e.path for e in err.value.errors] == ["documents[1].spec.hour"]
