"""Saved cohorts and what-changed slice discovery, as `Client` methods (`CohortsMixin`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from llmpulse.sdk.errors import LlmpulseApiError
from llmpulse.sdk.query_params import project_path, to_time
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


@dataclass
class CohortPlan:
    """What applying a cohort list would change: names to create, update, leave, delete."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """True when applying would change anything."""
        return bool(self.create or self.update or self.delete)


def _path(project: str, tail: str = "") -> str:
    return project_path(project, f"cohorts{tail}")


class CohortsMixin(Requester):
    """Cohort CRUD, config-as-code apply, and `segment_changes`."""

    def list_cohorts(self, project: str) -> list[JsonDict]:
        """The project's saved cohorts."""
        body = self.request("GET", _path(project))
        return list(body["data"])

    def put_cohort(
        self, project: str, name: str, expression: str, description: str = ""
    ) -> JsonDict:
        """Create or replace a cohort (``tier = 'enterprise' and region in ('eu-west')``)."""
        payload = {"expression": expression, "description": description}
        body: JsonDict = self.request(
            "PUT", _path(project, f"/{quote(name, safe='')}"), json=payload
        )
        return body

    def delete_cohort(self, project: str, name: str) -> None:
        """Delete a cohort."""
        self.request("DELETE", _path(project, f"/{quote(name, safe='')}"))

    def plan_cohorts(self, spec: JsonDict, *, prune: bool = False) -> CohortPlan:
        """Diff a ``kind: CohortList`` document against the server (nothing is changed)."""
        return self._apply(spec, prune=prune, dry_run=True)

    def apply_cohorts(self, spec: JsonDict, *, prune: bool = False) -> CohortPlan:
        """Make the server's cohorts match a ``kind: CohortList`` document; return the plan.

        The server applies the whole list in one transaction: a repeated name, a bad
        expression or an unknown project changes nothing (`LlmpulseApiError`, 400 or 404).
        """
        return self._apply(spec, prune=prune, dry_run=False)

    def _apply(self, spec: JsonDict, *, prune: bool, dry_run: bool) -> CohortPlan:
        if spec.get("kind") != "CohortList":
            raise LlmpulseApiError(400, "expected kind: CohortList", [])
        payload = {"cohorts": list(spec.get("cohorts", [])), "prune": prune, "dry_run": dry_run}
        body = self.request("POST", _path(spec["project"], "/apply"), json=payload)
        return CohortPlan(
            create=list(body["create"]),
            update=list(body["update"]),
            unchanged=list(body["unchanged"]),
            delete=list(body["delete"]),
        )

    def segment_changes_raw(
        self,
        project: str,
        metric: str,
        keys: Sequence[str],
        *,
        baseline_start: datetime | str,
        baseline_end: datetime | str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        k: int = 20,
        kind: str | None = None,
        unit: str | None = None,
    ) -> JsonDict:
        """Slices whose metric got worse from the baseline window to ``start``..``end``.

        Every slice comes with a ``status`` (reported, folded under ``explained_by``, global,
        improved, not_significant, too_small); ``unit`` is the unit of analysis (default trace).
        """
        params: list[tuple[str, str]] = [("metric", metric), ("k", str(k))]
        params += [("key", key) for key in keys]
        params += [
            ("baseline_start", to_time(baseline_start)),
            ("baseline_end", to_time(baseline_end)),
        ]
        if start is not None:
            params.append(("start", to_time(start)))
        if end is not None:
            params.append(("end", to_time(end)))
        if kind is not None:
            params.append(("kind", kind))
        if unit is not None:
            params.append(("unit", unit))
        path = project_path(project, "segments/changes")
        body: JsonDict = self.request("GET", path, params=params)
        return body
