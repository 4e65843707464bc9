"""Hash chain for immutable explanation records (issue 13, item 5).

Each record's hash is sha256(previous hash + canonical JSON of the record) in hex; the first
record chains from :data:`GENESIS`. Canonical JSON: keys sorted, no insignificant whitespace,
UTF-8, NaN and infinities rejected. Editing, inserting, removing or reordering a record breaks
every later link, and :func:`verify` names the first record whose stored hash does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmpulse.domain.errors import InvalidInput

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainedRecord:
    """A record with its link in the chain.

    Attributes:
        record: The record body (JSON-serialisable mapping).
        previous_hash: Hash of the preceding record (GENESIS for the first).
        hash: sha256 hex of previous_hash + canonical JSON of record.
    """

    record: Mapping[str, Any]
    previous_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    """Outcome of verifying a chain.

    Attributes:
        ok: True when every link holds.
        first_bad: Index of the first record whose link fails, or None.
        reason: Why it failed ("" when ok).
    """

    ok: bool
    first_bad: int | None = None
    reason: str = ""


def canonical_json(record: Mapping[str, Any]) -> str:
    """Canonical JSON text of a record (sorted keys, compact, no NaN).

    Raises:
        InvalidInput: If the record is not JSON-serialisable or holds NaN/infinity.
    """
    try:
        return json.dumps(
            record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"record must be JSON-serialisable: {exc}") from exc


def link_hash(previous_hash: str, record: Mapping[str, Any]) -> str:
    """sha256 hex of the previous hash followed by the record's canonical JSON."""
    payload = (previous_hash + canonical_json(record)).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def append(chain: Sequence[ChainedRecord], record: Mapping[str, Any]) -> ChainedRecord:
    """Link a new record after the end of ``chain`` (the chain itself is not modified).

    Returns:
        The new chained record; the caller stores it.
    """
    previous = chain[-1].hash if chain else GENESIS
    return ChainedRecord(dict(record), previous, link_hash(previous, record))


def build(records: Sequence[Mapping[str, Any]]) -> list[ChainedRecord]:
    """Chain records in order from GENESIS."""
    chain: list[ChainedRecord] = []
    for record in records:
        chain.append(append(chain, record))
    return chain


def verify(chain: Sequence[ChainedRecord]) -> Verification:
    """Recompute every link and pinpoint the first tampered record.

    Args:
        chain: The stored records in order.

    Returns:
        ok, or the index of the first record whose previous-hash link or own hash fails.
    """
    previous = GENESIS
    for index, item in enumerate(chain):
        if item.previous_hash != previous:
            return Verification(False, index, "previous_hash does not match the preceding record")
        try:
            expected = link_hash(previous, item.record)
        except InvalidInput:
            return Verification(False, index, "record is not canonical JSON")
        if item.hash != expected:
            return Verification(False, index, "hash does not match the record")
        previous = item.hash
    return Verification(True)
