"""Human annotation: per-project annotation names and labels, and annotators' own edits.

A project's annotation config (a document of kind ``project.annotation_config`` named after
the project) lists the annotation names people may give and, per name, the labels allowed,
e.g. ``correctness: correct|incorrect``. Annotations made through the UI, the bulk route or an
edit are checked against it (an unknown name or label is a 400 naming the nearest ones); a
project without a config takes any name and label. The annotator is the key (or UI login)
that made the annotation, kept as ``metadata.annotator``; only the annotator may change or
delete an annotation (``metadata.updated_at`` records the last change).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import orjson

from llmpulse.clock import Clock
from llmpulse.domain.errors import FieldError, Forbidden, InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.predictions import AnnotatorKind, Evaluation
from llmpulse.domain.spans import Annotation
from llmpulse.domain.suggest import unknown
from llmpulse.ingest.service import IngestService
from llmpulse.store.api import EventStore, StateStore

CONFIG_KIND = "project.annotation_config"
MAX_KINDS = 100
MAX_LABELS = 50
MAX_BULK = 1000


@dataclass(frozen=True, slots=True)
class AnnotationKind:
    """An annotation name and its allowed labels (empty: any label)."""

    name: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HumanInput:
    """What an annotator gives: a name and at least one of label, score and note."""

    name: str
    label: str | None = None
    score: float | None = None
    note: str | None = None


def annotator_of(a: Annotation) -> str | None:
    """Who made a human annotation (None for one logged without an annotator)."""
    who = a.metadata.get("annotator")
    return str(who) if who is not None else None


def check_kinds(kinds: Sequence[AnnotationKind]) -> tuple[AnnotationKind, ...]:
    """Validate a config: names unique and non-empty, labels unique per name.

    Raises:
        InvalidInput: naming the offending entry.
    """
    if len(kinds) > MAX_KINDS:
        raise InvalidInput("too many annotation names", [FieldError("annotations", "≤ 100")])
    seen: set[str] = set()
    for i, k in enumerate(kinds):
        path = f"annotations[{i}]"
        if not k.name.strip() or len(k.name) > 256:
            raise InvalidInput("bad annotation name", [FieldError(f"{path}.name", "1-256 chars")])
        if k.name in seen:
            raise InvalidInput(
                f"annotation {k.name!r} is listed twice", [FieldError(f"{path}.name", "duplicate")]
            )
        seen.add(k.name)
        if len(k.labels) > MAX_LABELS or len(set(k.labels)) != len(k.labels):
            raise InvalidInput(
                f"labels of {k.name!r} repeat or are too many",
                [FieldError(f"{path}.labels", f"up to {MAX_LABELS} distinct labels")],
            )
        if any(not label.strip() or "|" in label for label in k.labels):
            raise InvalidInput(
                f"a label of {k.name!r} is empty or holds '|'",
                [FieldError(f"{path}.labels", "non-empty, no '|'")],
            )
    return tuple(kinds)


def parse_lines(text: str) -> tuple[AnnotationKind, ...]:
    """Read the one-line-per-name form ``correctness: correct|incorrect`` (labels optional).

    Raises:
        InvalidInput: a line without a name.
    """
    kinds = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rest = line.partition(":")
        if not name.strip():
            raise InvalidInput("a line has no name", [FieldError(f"line {n}", "name: a|b")])
        labels = tuple(x.strip() for x in rest.split("|") if x.strip())
        kinds.append(AnnotationKind(name.strip(), labels))
    return check_kinds(kinds)


def to_lines(kinds: Sequence[AnnotationKind]) -> str:
    """The one-line-per-name form of a config (see `parse_lines`)."""
    return "\n".join(f"{k.name}: {'|'.join(k.labels)}" for k in kinds)


def check_input(kinds: Sequence[AnnotationKind], item: HumanInput) -> None:
    """Check an annotation against the project's config (none: anything goes).

    Raises:
        InvalidInput: no label, score or note; or the name or label is not configured.
    """
    if item.label is None and item.score is None and not item.note:
        raise InvalidInput(
            "give at least one of label, score or note", [FieldError("label", "all empty")]
        )
    if not kinds:
        return
    kind = next((k for k in kinds if k.name == item.name), None)
    if kind is None:
        raise unknown("annotation name", item.name, [k.name for k in kinds], "name")
    if kind.labels and item.label is not None and item.label not in kind.labels:
        raise unknown(f"label of {kind.name!r}", item.label, kind.labels, "label")


class AnnotationDesk:
    """Annotation configs, and adding, editing and deleting human annotations."""

    def __init__(
        self,
        events: EventStore,
        state: StateStore,
        ingest: IngestService,
        clock: Clock,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._events = events
        self._state = state
        self._ingest = ingest
        self._clock = clock
        self._changed = changed

    async def config(self, project: ProjectName) -> tuple[AnnotationKind, ...]:
        """The project's annotation names and labels (empty: not configured).

        Raises:
            NotFound: no such project.
        """
        if await asyncio.to_thread(self._state.get_project, project) is None:
            raise NotFound(f"project {project!r} does not exist")
        doc = await asyncio.to_thread(self._state.get_document, CONFIG_KIND, project)
        if doc is None:
            return ()
        return tuple(
            AnnotationKind(str(k["name"]), tuple(k["labels"])) for k in orjson.loads(doc.body)
        )

    async def set_config(
        self, project: ProjectName, kinds: Sequence[AnnotationKind]
    ) -> tuple[AnnotationKind, ...]:
        """Replace the project's annotation config (an empty one removes it)."""
        check_kinds(kinds)
        await self.config(project)  # the project must exist
        if not kinds:
            await asyncio.to_thread(self._state.delete_document, CONFIG_KIND, project)
            return ()
        body = orjson.dumps([{"name": k.name, "labels": list(k.labels)} for k in kinds]).decode()
        now = self._clock.now()
        await asyncio.to_thread(self._state.put_document, CONFIG_KIND, project, body, now)
        return tuple(kinds)

    async def add(
        self, project: ProjectName, span_ids: Sequence[SpanId], item: HumanInput, annotator: str
    ) -> list[Annotation]:
        """Annotate each span (of ``project``) with ``item``, by ``annotator``.

        Raises:
            InvalidInput: ``item`` does not fit the config, no or too many spans.
            NotFound: a span is not in the project.
        """
        check_input(await self.config(project), item)
        if not 1 <= len(span_ids) <= MAX_BULK:
            raise InvalidInput("give 1 to 1000 spans", [FieldError("span_ids", "1..1000")])
        for i, sid in enumerate(span_ids):
            span = await asyncio.to_thread(self._events.get_span, sid)
            if span is None or span.project != project:
                raise NotFound(f"span {sid} is not in project {project!r} (span_ids[{i}])")
        evaluations = [
            Evaluation(
                name=item.name,
                span_id=sid,
                project=project,
                label=item.label,
                score=item.score,
                explanation=item.note or None,
                annotator_kind=AnnotatorKind.HUMAN,
                metadata={"annotator": annotator},
            )
            for sid in span_ids
        ]
        result = await self._ingest.annotate(evaluations)
        if result.unstorable:
            _, field, reason = result.unstorable[0]
            raise InvalidInput(f"annotation not stored: {reason}", [FieldError(field, reason)])
        return list(result.annotations)

    async def find(self, annotation_id: str) -> Annotation | None:
        """One annotation by id, or None."""
        return await asyncio.to_thread(self._events.get_annotation, annotation_id)

    async def _own(self, annotation_id: str, annotator: str) -> Annotation:
        found = await asyncio.to_thread(self._events.get_annotation, annotation_id)
        if found is None:
            raise NotFound(f"annotation {annotation_id!r} does not exist")
        if annotator_of(found) != annotator:
            who = annotator_of(found) or found.annotator_kind
            raise Forbidden(f"annotation {annotation_id!r} is {who}'s; only they may change it")
        return found

    async def edit(self, annotation_id: str, item: HumanInput, annotator: str) -> Annotation:
        """Change one's own annotation (the name stays; label, score and note are replaced).

        Raises:
            NotFound: no such annotation. Forbidden: someone else's.
            InvalidInput: the change does not fit the config.
        """
        old = await self._own(annotation_id, annotator)
        item = replace(item, name=old.name)
        check_input(await self.config(old.project), item)
        meta = {**old.metadata, "updated_at": self._clock.now().isoformat()}
        new = replace(
            old, label=item.label, score=item.score, explanation=item.note or None, metadata=meta
        )
        await asyncio.to_thread(self._events.edit_annotation, annotation_id, new)
        self._changed()
        return new

    async def delete(self, annotation_id: str, annotator: str) -> Annotation:
        """Delete one's own annotation; returns what was deleted.

        Raises:
            NotFound: no such annotation. Forbidden: someone else's.
        """
        old = await self._own(annotation_id, annotator)
        await asyncio.to_thread(self._events.edit_annotation, annotation_id, None)
        self._changed()
        return old
