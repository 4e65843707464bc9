"""`CohortService`: saved cohorts per project, kept as documents in the state store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmpulse.clock import Clock
from llmpulse.domain.cohorts import Cohort, Condition, parse_cohort
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.specs import CohortSpec
from llmpulse.store.api import StateStore
from llmpulse.store.metric_api import CohortKey, GroupKey

KIND = "cohort"
PREFIX = "cohort:"


def _doc_name(project: ProjectName, name: str) -> str:
    return f"{project}/{name}"


@dataclass(frozen=True, slots=True)
class CohortPlan:
    """What applying a cohort list changes (or would change, on a dry run)."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    applied: bool = False


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
        body = _body(cohort.expression, description)
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

    async def apply(
        self,
        project: ProjectName,
        cohorts: Sequence[CohortSpec],
        *,
        prune: bool = False,
        dry_run: bool = False,
    ) -> CohortPlan:
        """Make the project's cohorts match ``cohorts``: all of the changes, or none of them.

        Everything is checked before anything is written (the project exists, names are
        unique, every expression parses), and the writes are one state-store transaction.

        Raises:
            NotFound: the project has never received a span.
            InvalidInput: a name repeats or an expression does not parse (the path names it).
        """
        if await asyncio.to_thread(self._state.get_project, project) is None:
            raise NotFound(f"project {project!r} does not exist (it has received no spans)")
        wanted = _checked(cohorts)
        current = {c.name: c for c in await self.list(project)}
        plan = CohortPlan(delete=sorted(set(current) - set(wanted)) if prune else [])
        for name, c in wanted.items():
            have = current.get(name)
            if have is None:
                plan.create.append(name)
            elif (have.expression, have.description) != (c.expression, c.description):
                plan.update.append(name)
            else:
                plan.unchanged.append(name)
        if dry_run or not (plan.create or plan.update or plan.delete):
            return plan
        puts = {
            _doc_name(project, n): _body(wanted[n].expression, wanted[n].description)
            for n in plan.create + plan.update
        }
        deletes = [_doc_name(project, n) for n in plan.delete]
        await asyncio.to_thread(self._state.apply_documents, KIND, puts, deletes, self._clock.now())
        return CohortPlan(plan.create, plan.update, plan.unchanged, plan.delete, applied=True)

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


def _body(expression: str, description: str) -> str:
    return json.dumps({"expression": expression, "description": description})


def _checked(cohorts: Sequence[CohortSpec]) -> dict[str, Cohort]:
    """Parse every cohort; refuse repeated names and bad expressions by their path."""
    out: dict[str, Cohort] = {}
    for i, spec in enumerate(cohorts):
        if spec.name in out:
            raise InvalidInput(
                f"cohort name {spec.name!r} appears twice",
                [FieldError(f"cohorts[{i}].name", "repeats an earlier cohort")],
            )
        try:
            out[spec.name] = parse_cohort(spec.name, spec.expression, spec.description)
        except InvalidInput as exc:
            where = "name" if any(e.path == "name" for e in exc.errors) else "expression"
            raise InvalidInput(
                exc.detail, [FieldError(f"cohorts[{i}].{where}", exc.detail)]
            ) from exc
    return out
