"""`RuleService`: a project's evaluation rules, kept as documents in the state store.

Each rule is one document (kind ``eval_rule``, name ``<project>/<rule>``) holding the
`EvalRule` as JSON. ``apply`` makes a project's rules match a list in one transaction, the way
``kind: EvalRuleList`` files are applied (plan first; ``dry_run`` plans only).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from llmpulse.clock import Clock
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.eval_rules import EvalRule
from llmpulse.domain.ids import ProjectName
from llmpulse.evals.evaluators import template_for
from llmpulse.store.api import StateStore

KIND = "eval_rule"


def _doc_name(project: ProjectName, name: str) -> str:
    return f"{project}/{name}"


@dataclass(frozen=True, slots=True)
class RulePlan:
    """What applying a rule list changes (or would change, on a dry run)."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    applied: bool = False


def check_rule(rule: EvalRule, path: str = "evaluator") -> None:
    """Validate what the model alone cannot: a custom template's variables and rails.

    Raises:
        InvalidInput: the template is not valid; field paths start with ``path``.
    """
    if rule.evaluator.uses_judge:
        try:
            template_for(rule.evaluator)
        except InvalidInput as exc:
            errors = [FieldError(f"{path}.{e.path}", e.message) for e in exc.errors]
            raise InvalidInput(exc.detail, errors) from None


class RuleService:
    """Create, list, apply and delete evaluation rules."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        """Rules live in ``state``; ``on_change`` listeners hear of every write."""
        self._state = state
        self._clock = clock
        self.on_change: list[Callable[[ProjectName], None]] = []

    def _changed(self, project: ProjectName) -> None:
        for listener in self.on_change:
            listener(project)

    async def put(self, project: ProjectName, rule: EvalRule) -> EvalRule:
        """Create or replace a rule (validated first)."""
        check_rule(rule)
        await asyncio.to_thread(
            self._state.put_document, KIND, _doc_name(project, rule.name),
            rule.model_dump_json(), self._clock.now(),
        )  # fmt: skip
        self._changed(project)
        return rule

    async def get(self, project: ProjectName, name: str) -> EvalRule:
        """One rule.

        Raises:
            NotFound: no such rule in the project.
        """
        doc = await asyncio.to_thread(self._state.get_document, KIND, _doc_name(project, name))
        if doc is None:
            raise NotFound(f"evaluation rule {name!r} does not exist in project {project!r}")
        return EvalRule.model_validate_json(doc.body)

    async def list_rules(self, project: ProjectName) -> list[EvalRule]:
        """Every rule of a project, by name."""
        docs = await asyncio.to_thread(self._state.list_documents, KIND, f"{project}/")
        return [EvalRule.model_validate_json(d.body) for d in docs]

    async def projects_with_online_rules(self) -> dict[ProjectName, list[EvalRule]]:
        """Every project's online rules."""
        docs = await asyncio.to_thread(self._state.list_documents, KIND)
        out: dict[ProjectName, list[EvalRule]] = {}
        for d in docs:
            rule = EvalRule.model_validate_json(d.body)
            if rule.online:
                out.setdefault(ProjectName(d.name.rsplit("/", 1)[0]), []).append(rule)
        return out

    async def delete(self, project: ProjectName, name: str) -> None:
        """Delete a rule.

        Raises:
            NotFound: no such rule.
        """
        gone = await asyncio.to_thread(self._state.delete_document, KIND, _doc_name(project, name))
        if not gone:
            raise NotFound(f"evaluation rule {name!r} does not exist in project {project!r}")
        self._changed(project)

    async def apply(
        self, project: ProjectName, rules: Sequence[EvalRule], *, prune: bool = False,
        dry_run: bool = False,
    ) -> RulePlan:  # fmt: skip
        """Make the project's rules match ``rules``: all of the changes, or none.

        Raises:
            InvalidInput: a name repeats or a template is not valid (``rules[i]...``).
        """
        wanted: dict[str, EvalRule] = {}
        for i, rule in enumerate(rules):
            if rule.name in wanted:
                raise InvalidInput(
                    f"rule {rule.name!r} is listed twice",
                    [FieldError(f"rules[{i}].name", "repeats an earlier rule's name")],
                )
            check_rule(rule, f"rules[{i}].evaluator")
            wanted[rule.name] = rule
        current = {r.name: r for r in await self.list_rules(project)}
        plan = RulePlan(delete=sorted(set(current) - set(wanted)) if prune else [])
        for name, rule in wanted.items():
            have = current.get(name)
            bucket = (
                plan.create if have is None else plan.unchanged if have == rule else plan.update
            )
            bucket.append(name)
        if dry_run or not (plan.create or plan.update or plan.delete):
            return plan
        puts = {
            _doc_name(project, n): wanted[n].model_dump_json() for n in plan.create + plan.update
        }
        deletes = [_doc_name(project, n) for n in plan.delete]
        await asyncio.to_thread(self._state.apply_documents, KIND, puts, deletes, self._clock.now())
        self._changed(project)
        return RulePlan(plan.create, plan.update, plan.unchanged, plan.delete, applied=True)
