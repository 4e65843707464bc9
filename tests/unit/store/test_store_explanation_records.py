"""Explanation records in SQLite (issue 13, item 5): immutable, searchable, tamper-evident.

The tamper tests edit the database file with the sqlite3 module, as an attacker with file
access would, and check that verification names the first bad record.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmpulse.analysis.explain.records import canonical_json, link_hash
from llmpulse.clock import ManualClock
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.explanations import ExplanationDraft, SubjectKind
from llmpulse.explain.records import ExplanationRecords, inputs_hash
from llmpulse.store.state.explanations import explanation_store
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _draft(i: int, project: str = "credit", case: str | None = None) -> ExplanationDraft:
    return ExplanationDraft(
        project=project,
        subject_kind=SubjectKind.PREDICTION,
        subject_id=f"p-{i}",
        method="shap.client",
        inputs_hash=inputs_hash({"features": {"income": i}}),
        outputs={"contributions": [{"feature": "income", "contribution": -0.1 * i}]},
        model_versions={"model_version": "v3"},
        external_ids={"case_id": case} if case else {},
    )


@pytest.fixture
def db(tmp_path: Path) -> tuple[Path, ExplanationRecords, SqlStateStore]:
    path = tmp_path / "state.sqlite"
    state = SqlStateStore(f"sqlite:///{path}")
    return path, ExplanationRecords(explanation_store(state), ManualClock(T0)), state


def _add(records: ExplanationRecords, n: int, project: str = "credit") -> list[str]:
    async def go() -> list[str]:
        out = []
        for i in range(n):
            rec = await records.add(_draft(i, project, case=f"C-{i % 2}"))
            out.append(rec.record_id)
        return out

    return run(go())


def _sql(path: Path, statement: str, *params: object) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute(statement, params)
        con.commit()
    finally:
        con.close()


def test_records_chain_per_project_and_verify_ok(
    db: tuple[Path, ExplanationRecords, SqlStateStore],
) -> None:
    _, records, _ = db
    ids = _add(records, 4)
    _add(records, 2, project="other")
    check = run(records.verify("credit"))
    assert check.ok
    assert check.records == 4
    first = run(records.get(ids[0]))
    assert first.previous_hash == "0" * 64
    second = run(records.get(ids[1]))
    assert second.previous_hash == first.hash
    assert run(records.verify("other")).records == 2
    assert run(records.verify("empty")).ok


def test_search_by_external_id_finds_exactly_that_case(
    db: tuple[Path, ExplanationRecords, SqlStateStore],
) -> None:
    _, records, _ = db
    ids = _add(records, 5)
    found = run(records.search("credit", external=("case_id", "C-1")))
    assert [r.record_id for r in found] == [ids[3], ids[1]]  # newest first
    assert run(records.search("credit", external=("case_id", "C-9"))) == []
    assert [r.record_id for r in run(records.search("credit", subject_id="p-2"))] == [ids[2]]


def test_editing_a_stored_output_is_detected_and_located(
    db: tuple[Path, ExplanationRecords, SqlStateStore],
) -> None:
    path, records, _ = db
    ids = _add(records, 4)
    _sql(
        path,
        "UPDATE explanation_records SET body = replace(body, '-0.2', '-0.9') WHERE record_id = ?",
        ids[2],
    )
    check = run(records.verify("credit"))
    assert not check.ok
    assert check.first_bad_record == ids[2]
    assert "hash" in check.reason


def test_rewriting_a_record_and_its_hash_breaks_the_next_link(
    db: tuple[Path, ExplanationRecords, SqlStateStore],
) -> None:
    path, records, _ = db
    ids = _add(records, 3)
    _sql(path, "UPDATE explanation_records SET hash = ? WHERE record_id = ?", "f" * 64, ids[1])
    check = run(records.verify("credit"))
    assert not check.ok
    assert check.first_bad_record == ids[1]
    # A consistent rewrite of record 1 (new body, its own hash recomputed) passes record 1's
    # own check but breaks the link of record 2.
    original = run(records.get(ids[1]))
    forged = {**original.body, "outputs": {"contributions": []}}
    _sql(
        path,
        "UPDATE explanation_records SET body = ?, hash = ? WHERE record_id = ?",
        canonical_json(forged),
        link_hash(original.previous_hash, forged),
        ids[1],
    )
    check = run(records.verify("credit"))
    assert not check.ok
    assert check.first_bad_record == ids[2]
    assert "previous_hash" in check.reason


def test_deleting_a_record_is_detected(db: tuple[Path, ExplanationRecords, SqlStateStore]) -> None:
    path, records, _ = db
    ids = _add(records, 4)
    _sql(path, "DELETE FROM explanation_records WHERE record_id = ?", ids[1])
    check = run(records.verify("credit"))
    assert not check.ok
    assert check.first_bad_record == ids[2]
    assert "previous_hash" in check.reason


def test_editing_the_searchable_columns_is_detected(
    db: tuple[Path, ExplanationRecords, SqlStateStore],
) -> None:
    path, records, _ = db
    ids = _add(records, 3)
    _sql(path, "UPDATE explanation_external_ids SET value = 'C-7' WHERE record_id = ?", ids[0])
    check = run(records.verify("credit"))
    assert not check.ok
    assert check.first_bad_record == ids[0]
    assert "external_ids" in check.reason
    _sql(path, "UPDATE explanation_external_ids SET value = 'C-0' WHERE record_id = ?", ids[0])
    assert run(records.verify("credit")).ok
    _sql(path, "UPDATE explanation_records SET subject_id = 'p-99' WHERE record_id = ?", ids[1])
    assert run(records.verify("credit")).first_bad_record == ids[1]


def test_bad_external_ids_and_nan_outputs_are_refused(
    db: tuple[Path, ExplanationRecords, SqlStateStore],
) -> None:
    _, records, _ = db
    bad = ExplanationDraft("credit", SubjectKind.SPAN, "s", "m", "h", {"x": float("nan")})
    with pytest.raises(InvalidInput):
        run(records.add(bad))
    many = ExplanationDraft(
        "credit",
        SubjectKind.SPAN,
        "s",
        "m",
        "h",
        {},
        external_ids={f"k{i}": "v" for i in range(30)},
    )
    with pytest.raises(InvalidInput) as err:
        run(records.add(many))
    assert err.value.errors[0].path == "external_ids"
    assert run(records.verify("credit")).records == 0
