"""`CohortService`: saved cohorts per project, kept as documents in the state store."""

from __future__ import annotations

import asyncio
import json

from llmpulse.clock import Clock
from llmpulse.domain.cohorts import Cohort, Condition, parse_cohort
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import CohortKey, GroupKey, StateStore

KIND = "cohort"
PREFIX = "cohort:"


def _doc_name(project: ProjectName, name: str) -> str:
    return f"{project}/{name}"


class CohortService:
    """Create, list, resolve and delete saved cohorts."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        self._state = state
        self._clock = clock

    async def put(
        self, project: ProjectName, name: str, expression: str, description: str = ""
    ) -> Cohort:
        """Create or replace a cohort (validated first)."""
        cohort = parse_cohort(name, expression, description)
        body = json.dumps({"expression": cohort.expression, "description": description})
        await asyncio.to_thread(
            self._state.put_document, KIND, _doc_name(project, name), body, self._clock.now()
        )
        return cohort

    async def get(self, project: ProjectName, name: str) -> Cohort:
        """One cohort, parsed.

        Raises:
            NotFound: no such cohort in the project.
        """
        doc = await asyncio.to_thread(self._state.get_document, KIND, _doc_name(project, name))
        if doc is None:
            raise NotFound(f"cohort {name!r} does not exist in project {project!r}")
        body = json.loads(doc.body)
        return parse_cohort(name, body["expression"], body.get("description", ""))

    async def list(self, project: ProjectName) -> list[Cohort]:
        """Every cohort of a project, by name."""
        docs = await asyncio.to_thread(self._state.list_documents, KIND)
        prefix = f"{project}/"
        out = []
        for d in docs:
            if d.name.startswith(prefix):
                body = json.loads(d.body)
                name = d.name[len(prefix) :]
                out.append(parse_cohort(name, body["expression"], body.get("description", "")))
        return out

    async def delete(self, project: ProjectName, name: str) -> None:
        """Delete a cohort.

        Raises:
            NotFound: no such cohort.
        """
        gone = await asyncio.to_thread(self._state.delete_document, KIND, _doc_name(project, name))
        if not gone:
            raise NotFound(f"cohort {name!r} does not exist in project {project!r}")

    async def resolve_keys(
        self, project: ProjectName, keys: tuple[GroupKey, ...]
    ) -> tuple[GroupKey, ...]:
        """Turn ``cohort:<name>`` keys into `CohortKey`s; other keys pass through.

        Raises:
            InvalidInput: a key names a cohort the project does not have.
        """
        out: list[GroupKey] = []
        for key in keys:
            if isinstance(key, str) and key.startswith(PREFIX):
                try:
                    c = await self.get(project, key[len(PREFIX) :])
                except NotFound as exc:
                    raise InvalidInput(exc.detail, [FieldError("key", exc.detail)]) from exc
                out.append(CohortKey(c.name, c.conditions))
            else:
                out.append(key)
        return tuple(out)

    async def conditions(self, project: ProjectName, name: str | None) -> tuple[Condition, ...]:
        """The conditions of a cohort used as a filter (empty when ``name`` is None)."""
        if not name:
            return ()
        if name.startswith(PREFIX):
            raise InvalidInput("give the cohort's bare name", [FieldError("cohort", name)])
        return (await self.get(project, name)).conditions
