"""Hash chain of explanation records: tamper detection."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from llmpulse.analysis.explain.records import GENESIS, build, canonical_json, verify
from llmpulse.domain.errors import InvalidInput

RECORDS = [
    {"method": "contextcite", "span_id": f"s{i}", "outputs": {"weights": [0.1 * i, 0.5]}}
    for i in range(5)
]


def test_untouched_chain_verifies_and_links_are_sha256() -> None:
    chain = build(RECORDS)
    assert verify(chain).ok
    expected = hashlib.sha256((GENESIS + canonical_json(RECORDS[0])).encode()).hexdigest()
    assert chain[0].hash == expected
    assert chain[1].previous_hash == chain[0].hash


def test_canonical_json_ignores_key_order() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})
    assert canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_edited_record_is_pinpointed() -> None:
    chain = build(RECORDS)
    edited = dict(chain[2].record, outputs={"weights": [9.9, 0.5]})
    chain[2] = dataclasses.replace(chain[2], record=edited)
    result = verify(chain)
    assert (result.ok, result.first_bad) == (False, 2)
    assert "hash" in result.reason


def test_rehashed_edit_breaks_the_next_link() -> None:
    chain = build(RECORDS)
    edited = build([*RECORDS[:1], dict(RECORDS[1], method="forged")])[1]
    chain[1] = edited
    result = verify(chain)
    assert (result.ok, result.first_bad) == (False, 2)


@pytest.mark.parametrize("surgery", ["delete", "swap"])
def test_removed_or_reordered_records_are_detected(surgery: str) -> None:
    chain = build(RECORDS)
    if surgery == "delete":
        del chain[1]
    else:
        chain[1], chain[2] = chain[2], chain[1]
    assert verify(chain).first_bad == 1


def test_non_json_record_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="JSON"):
        build([{"x": float("nan")}])
