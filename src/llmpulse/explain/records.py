"""`ExplanationRecords`: store explanations as immutable, hash-chained records (item 5).

Each record's body (id, project, subject, external ids, method, inputs hash, outputs, model
versions, time) is canonical JSON; its hash is sha256(previous hash + body) per project
(`llmpulse.analysis.explain.records`). `verify` recomputes the chain and checks that the
searchable columns (subject, method, external ids) agree with the bodies, so an edit of any
stored row is detected and the first bad record named.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from llmpulse.analysis.explain.records import (
    GENESIS,
    ChainedRecord,
    canonical_json,
    link_hash,
    verify,
)
from llmpulse.clock import Clock
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.explanations import (
    ChainCheck,
    ExplanationDraft,
    ExplanationRecord,
    SubjectKind,
)
from llmpulse.store.state.explanations import SqlExplanationRecords

MAX_EXTERNAL_IDS = 20


def inputs_hash(inputs: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of what an explanation method saw."""
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


def _check_external(ids: Mapping[str, str]) -> None:
    if len(ids) > MAX_EXTERNAL_IDS:
        raise InvalidInput(
            "too many external ids",
            [FieldError("external_ids", f"at most {MAX_EXTERNAL_IDS} names")],
        )
    for name, value in ids.items():
        if not name or len(name) > 200 or not isinstance(value, str) or len(value) > 500:
            raise InvalidInput(
                "bad external id",
                [FieldError(f"external_ids.{name}", "name 1-200 and value ≤ 500 characters")],
            )


class ExplanationRecords:
    """Append, find and verify explanation records (thread work off the event loop)."""

    def __init__(self, store: SqlExplanationRecords, clock: Clock) -> None:
        """Wrap the SQL store; ``clock`` stamps each record."""
        self._store = store
        self._clock = clock
        self._lock = asyncio.Lock()

    def _body(self, draft: ExplanationDraft) -> dict[str, Any]:
        return {
            "record_id": uuid.uuid4().hex,
            "project": draft.project,
            "subject": {"kind": draft.subject_kind.value, "id": draft.subject_id},
            "external_ids": dict(draft.external_ids),
            "method": draft.method,
            "inputs_hash": draft.inputs_hash,
            "outputs": dict(draft.outputs),
            "model_versions": dict(draft.model_versions),
            "created_at": self._clock.now().isoformat(),
        }

    async def add(self, draft: ExplanationDraft) -> ExplanationRecord:
        """Store a draft as the next record of its project's chain.

        Raises:
            InvalidInput: bad external ids, or outputs that are not JSON (NaN included).
        """
        _check_external(draft.external_ids)
        body = self._body(draft)
        text = canonical_json(body)
        now = self._clock.now()

        def link(previous: str) -> str:
            return link_hash(previous, body)

        async with self._lock:
            return await asyncio.to_thread(self._store.append, body, text, now, link)

    async def get(self, record_id: str) -> ExplanationRecord:
        """One record.

        Raises:
            NotFound: no such record.
        """
        rec = await asyncio.to_thread(self._store.get, record_id)
        if rec is None:
            raise NotFound(f"explanation record {record_id!r} not found")
        return rec

    async def search(
        self,
        project: str,
        *,
        subject_kind: SubjectKind | None = None,
        subject_id: str | None = None,
        external: tuple[str, str] | None = None,
        method: str | None = None,
        limit: int = 100,
    ) -> list[ExplanationRecord]:
        """Records of a project, newest first (by subject, external id ``(name, value)``)."""
        return await asyncio.to_thread(
            lambda: self._store.search(
                project,
                subject_kind=subject_kind.value if subject_kind else None,
                subject_id=subject_id,
                external=external,
                method=method,
                limit=limit,
            )
        )

    async def latest(
        self, project: str, subject_kind: SubjectKind, subject_id: str, methods: Collection[str]
    ) -> ExplanationRecord | None:
        """The newest record about one subject made by one of ``methods``."""
        found = await self.search(
            project, subject_kind=subject_kind, subject_id=subject_id, limit=100
        )
        return next((r for r in found if r.body.get("method") in methods), None)

    async def verify(self, project: str) -> ChainCheck:
        """Recompute the project's chain; name the first record that fails."""
        rows = await asyncio.to_thread(self._store.chain, project)
        chain = [ChainedRecord(rec.body, rec.previous_hash, rec.hash) for rec, _, _ in rows]
        result = verify(chain)
        head = rows[-1][0].hash if rows else GENESIS
        if not result.ok and result.first_bad is not None:
            bad = rows[result.first_bad][0].record_id
            return ChainCheck(False, len(rows), head, bad, result.reason)
        for rec, columns, _ in rows:
            for key, value in columns.items():
                if rec.body.get(key) != value:
                    reason = f"column {key} does not match the hashed record"
                    return ChainCheck(False, len(rows), head, rec.record_id, reason)
        return ChainCheck(True, len(rows), head)
