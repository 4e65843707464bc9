"""Human review queues: spans an evaluation rule routed, with their explanation attached.

A rule with a ``review`` route (`llmpulse.domain.eval_rules.ReviewRoute`) sends each span it
evaluated (or only those whose verdict label is listed) to a named queue of its project. An item
carries the span, the judge's verdict and the "why this answer" summary of the span (with the
explanation record id when one is stored). A reviewer claims an item and resolves it with a
human label and a note; the resolution is written as a HUMAN annotation under the judge's
annotation name, so judge-versus-human agreement is computed from annotations like any metric.

Items are documents (kind ``review_item``) in the state store; an item's id is derived from
its project, queue and span, so a span routed twice (online, then by a backfill) is one item.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmpulse.clock import Clock
from llmpulse.domain.errors import Conflict, InvalidInput, LlmpulseError, NotFound
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.predictions import AnnotatorKind, Evaluation
from llmpulse.domain.spans import Span
from llmpulse.ingest.service import IngestService
from llmpulse.store.api import StateStore

KIND = "review_item"
ItemStatus = Literal["open", "claimed", "resolved"]
Explain = Callable[[str, str], Awaitable[dict[str, Any]]]


class Verdict(BaseModel):
    """The judge's verdict that routed the span."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str | None = None
    score: float | None = None
    reason: str | None = None
    rule: str


class Resolution(BaseModel):
    """A reviewer's verdict on an item."""

    model_config = ConfigDict(frozen=True)

    label: str
    reviewer: str
    note: str | None = None
    agrees: bool = Field(description="the human label equals the judge's label")
    resolved_at: datetime


class ReviewItem(BaseModel):
    """One span waiting for (or given) a human verdict."""

    id: str
    project: str
    queue: str
    span_id: str
    trace_id: str
    span_name: str
    created_at: datetime
    verdict: Verdict
    explanation: dict[str, Any] = Field(description="the span's 'why this answer' summary")
    status: ItemStatus = "open"
    claimed_by: str | None = None
    resolution: Resolution | None = None


def item_id(project: str, queue: str, span_id: str) -> str:
    """The deterministic id of a span's item in a queue."""
    return hashlib.sha256(f"{project}\0{queue}\0{span_id}".encode()).hexdigest()[:24]


def _doc(project: str, iid: str) -> str:
    return f"{project}/{iid}"


class ReviewQueues:
    """Enqueue, list, claim and resolve review items of every project."""

    def __init__(self, state: StateStore, ingest: IngestService, clock: Clock) -> None:
        """Items live in ``state``; resolutions are written through ``ingest.annotate``.

        ``explain`` (set by the server, which owns the explainers) makes an item's "why".
        """
        self._state = state
        self._ingest = ingest
        self._clock = clock
        self._lock = asyncio.Lock()
        self.explain: Explain | None = None

    async def _save(self, item: ReviewItem) -> ReviewItem:
        await asyncio.to_thread(
            self._state.put_document, KIND, _doc(item.project, item.id),
            item.model_dump_json(), self._clock.now(),
        )  # fmt: skip
        return item

    async def _why(self, project: str, span_id: str) -> dict[str, Any]:
        if self.explain is None:
            return {"error": "no explainer configured"}
        try:
            return await self.explain(project, span_id)
        except LlmpulseError as exc:
            return {"error": exc.detail}

    async def enqueue(
        self, queue: str, span: Span, verdict: Verdict, why: dict[str, Any] | None = None
    ) -> ReviewItem:
        """Put ``span`` on ``queue`` with its verdict and explanation (once per span); ``why``
        is the explanation when the caller has it, else `explain` makes it."""
        iid = item_id(span.project, queue, span.span_id)
        async with self._lock:
            doc = await asyncio.to_thread(self._state.get_document, KIND, _doc(span.project, iid))
            if doc is not None:
                return ReviewItem.model_validate_json(doc.body)
            why = why if why is not None else await self._why(span.project, span.span_id)
            item = ReviewItem(
                id=iid, project=span.project, queue=queue, span_id=span.span_id,
                trace_id=span.trace_id, span_name=span.name, created_at=self._clock.now(),
                verdict=verdict, explanation=why,
            )  # fmt: skip
            return await self._save(item)

    async def list_items(
        self, project: ProjectName, queue: str | None = None, status: ItemStatus | None = None
    ) -> list[ReviewItem]:
        """A project's items (of one queue, in one status), oldest first."""
        docs = await asyncio.to_thread(self._state.list_documents, KIND, f"{project}/")
        items = [ReviewItem.model_validate_json(d.body) for d in docs]
        items = [
            i
            for i in items
            if (queue is None or i.queue == queue) and (status is None or i.status == status)
        ]
        return sorted(items, key=lambda i: (i.created_at, i.id))

    async def get(self, project: ProjectName, iid: str) -> ReviewItem:
        """One item.

        Raises:
            NotFound: no such item in the project.
        """
        doc = await asyncio.to_thread(self._state.get_document, KIND, _doc(project, iid))
        if doc is None:
            raise NotFound(f"review item {iid!r} does not exist in project {project!r}")
        return ReviewItem.model_validate_json(doc.body)

    async def claim(self, project: ProjectName, iid: str, reviewer: str) -> ReviewItem:
        """Claim an open item for ``reviewer`` (claiming one's own claim again is a no-op).

        Raises:
            NotFound: no such item.
            Conflict: another reviewer holds it, or it is resolved.
        """
        async with self._lock:
            item = await self.get(project, iid)
            _check_open_to(item, reviewer)
            return await self._save(
                item.model_copy(update={"status": "claimed", "claimed_by": reviewer})
            )

    async def resolve(
        self, project: ProjectName, iid: str, reviewer: str, label: str, note: str | None = None
    ) -> ReviewItem:
        """Resolve an item with a human label; the label lands as a HUMAN annotation.

        Raises:
            NotFound: no such item.
            InvalidInput: the label is empty.
            Conflict: it is resolved, or claimed by another reviewer.
        """
        if not label.strip():
            raise InvalidInput("label must not be empty")
        async with self._lock:
            item = await self.get(project, iid)
            _check_open_to(item, reviewer)
            now = self._clock.now()
            agrees = label == item.verdict.label
            await self._ingest.annotate(
                [
                    Evaluation(
                        name=item.verdict.name, span_id=SpanId(item.span_id),
                        project=ProjectName(project), label=label, explanation=note,
                        annotator_kind=AnnotatorKind.HUMAN,
                        metadata={"review_queue": item.queue, "review_item": item.id,
                                  "reviewer": reviewer, "agrees": agrees},
                    )
                ]
            )  # fmt: skip
            res = Resolution(label=label, reviewer=reviewer, note=note, agrees=agrees,
                             resolved_at=now)  # fmt: skip
            return await self._save(
                item.model_copy(
                    update={"status": "resolved", "claimed_by": reviewer, "resolution": res}
                )
            )


def verdict_of(ev: Evaluation, rule: str) -> Verdict:
    """The `Verdict` of a judge's evaluation."""
    return Verdict(name=ev.name, label=ev.label, score=ev.score, reason=ev.explanation, rule=rule)


__all__ = ["ReviewItem", "ReviewQueues", "Verdict", "item_id", "verdict_of"]


def _check_open_to(item: ReviewItem, reviewer: str) -> None:
    """Raise Conflict unless ``reviewer`` may claim or resolve ``item``: it is not resolved
    and no other reviewer holds it."""
    if item.status == "resolved":
        raise Conflict(f"review item {item.id!r} is already resolved")
    if item.status == "claimed" and item.claimed_by != reviewer:
        raise Conflict(f"review item {item.id!r} is claimed by {item.claimed_by!r}")
