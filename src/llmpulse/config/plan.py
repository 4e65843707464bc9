"""The plan: a pure diff of desired resources against the current ones.

`plan` lists, per resource, ``create``, ``update`` (with the changed fields) or
``unchanged``; with ``prune``, resources of the kinds in the desired set (and, for kinds that
belong to a project, of the projects in it) that are not desired are ``delete``d. Nothing is
deleted without ``prune``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llmpulse.config.resources import Resource

ChangeAction = Literal["create", "update", "delete", "unchanged"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed field: its path in the spec and the values before and after."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Change:
    """What happens to one resource."""

    action: ChangeAction
    kind: str
    project: str
    name: str
    before: Resource | None
    after: Resource | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def label(self) -> str:
        """``Monitor rag-demo/checkout-latency``."""
        resource = self.after or self.before
        assert resource is not None  # noqa: S101 - a change has a before or an after
        return resource.label


@dataclass(frozen=True, slots=True)
class Plan:
    """Every change, in the order of the desired documents, deletions last."""

    changes: tuple[Change, ...] = field(default=())
    applied: bool = False

    @property
    def has_changes(self) -> bool:
        """Whether applying would write anything."""
        return any(c.action != "unchanged" for c in self.changes)

    def count(self, action: ChangeAction) -> int:
        """How many changes of one action."""
        return sum(1 for c in self.changes if c.action == action)


def flatten(value: Any, prefix: str = "spec") -> dict[str, Any]:
    """Leaf values by path (``spec.detector.params.k``); lists are leaves."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= flatten(item, f"{prefix}.{key}")
        return out
    return {prefix: value}


def field_changes(before: Resource, after: Resource) -> tuple[FieldChange, ...]:
    """The spec fields that differ, by path."""
    old, new = flatten(before.spec), flatten(after.spec)
    return tuple(
        FieldChange(path, old.get(path), new.get(path))
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    )


def plan(desired: Sequence[Resource], current: Sequence[Resource], *, prune: bool) -> Plan:
    """Diff ``desired`` against ``current``."""
    have = {r.key: r for r in current}
    changes: list[Change] = []
    for r in desired:
        old = have.get(r.key)
        if old is None:
            changes.append(Change("create", r.kind, r.project, r.name, None, r))
        elif old.spec_json != r.spec_json:
            changes.append(Change("update", *r.key, old, r, field_changes(old, r)))
        else:
            changes.append(Change("unchanged", *r.key, old, r))
    if prune:
        wanted = {r.key for r in desired}
        scopes = {(r.kind, r.project) for r in desired}
        for r in current:
            if r.key not in wanted and (r.kind, r.project) in scopes:
                changes.append(Change("delete", *r.key, r, None))
    return Plan(tuple(changes))


def final_state(current: Sequence[Resource], p: Plan) -> dict[tuple[str, str, str], Resource]:
    """The resources after applying ``p`` to ``current``."""
    out = {r.key: r for r in current}
    for c in p.changes:
        key = (c.kind, c.project, c.name)
        if c.after is None:
            out.pop(key, None)
        else:
            out[key] = c.after
    return out
