"""Evaluation rules and backfill jobs, as `Client` methods (`EvalsMixin`).

A rule is a JSON object (``name``, ``evaluator``, ``policy``, ``online``): see
``docs/how-to/evaluations.md``. ``apply_eval_rules`` takes a ``kind: EvalRuleList`` document.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from llmpulse.sdk.errors import LlmpulseApiError
from llmpulse.sdk.query_params import project_path
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


def _path(project: str, tail: str) -> str:
    return project_path(project, tail)


class EvalsMixin(Requester):
    """Rule CRUD, config-as-code apply, backfill jobs and the online status."""

    def list_eval_rules(self, project: str) -> list[JsonDict]:
        """The project's evaluation rules."""
        return list(self.request("GET", _path(project, "eval-rules"))["data"])

    def put_eval_rule(self, project: str, rule: JsonDict) -> JsonDict:
        """Create or replace a rule (``{"name", "evaluator", "policy", "online"}``)."""
        name = quote(str(rule.get("name", "")), safe="")
        body: JsonDict = self.request("PUT", _path(project, f"eval-rules/{name}"), json=rule)
        return body

    def delete_eval_rule(self, project: str, name: str) -> None:
        """Delete a rule (its annotations stay)."""
        self.request("DELETE", _path(project, f"eval-rules/{quote(name, safe='')}"))

    def apply_eval_rules(
        self, spec: JsonDict, *, prune: bool = False, dry_run: bool = False
    ) -> JsonDict:
        """Make the server's rules match a ``kind: EvalRuleList`` document; return the plan."""
        if spec.get("kind") != "EvalRuleList":
            raise LlmpulseApiError(400, "expected kind: EvalRuleList", [])
        payload = {"rules": list(spec.get("rules", [])), "prune": prune, "dry_run": dry_run}
        body: JsonDict = self.request(
            "POST", _path(spec["project"], "eval-rules/apply"), json=payload
        )
        return body

    def backfill_eval_rule(
        self, project: str, rule: str, *, start: datetime | None = None,
        end: datetime | None = None, limit: int | None = None, max_cost_usd: float | None = None,
    ) -> JsonDict:  # fmt: skip
        """Start evaluating stored spans with a rule; returns the job (poll `eval_job`)."""
        payload = {
            "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
            "limit": limit, "max_cost_usd": max_cost_usd,
        }  # fmt: skip
        path = _path(project, f"eval-rules/{quote(rule, safe='')}/backfill")
        body: JsonDict = self.request("POST", path, json=payload)
        return body

    def eval_job(self, project: str, job_id: str) -> JsonDict:
        """A backfill job's state and progress."""
        body: JsonDict = self.request("GET", _path(project, f"eval-jobs/{quote(job_id, safe='')}"))
        return body

    def list_eval_jobs(self, project: str) -> list[JsonDict]:
        """The project's backfill jobs, newest first."""
        return list(self.request("GET", _path(project, "eval-jobs"))["data"])

    def wait_eval_job(
        self, project: str, job_id: str, *, poll_s: float = 0.5,
        on_progress: Callable[[JsonDict], None] | None = None,
    ) -> JsonDict:  # fmt: skip
        """Poll a job until it is no longer running; ``on_progress`` sees every status."""
        while True:
            job = self.eval_job(project, job_id)
            if on_progress is not None:
                on_progress(job)
            if job["state"] != "running":
                return job
            time.sleep(poll_s)

    def eval_online_status(self, project: str) -> JsonDict:
        """The online evaluator's counters for the project's rules."""
        body: JsonDict = self.request("GET", _path(project, "eval-online"))
        return body

    def review_items(
        self, project: str, *, queue: str | None = None, status: str | None = None
    ) -> list[JsonDict]:
        """The project's review items (of one queue, in one status: open, claimed, resolved)."""
        params = {k: v for k, v in (("queue", queue), ("status", status)) if v is not None}
        return list(self.request("GET", _path(project, "review-items"), params=params)["data"])

    def claim_review_item(self, project: str, item_id: str, reviewer: str) -> JsonDict:
        """Claim an open review item."""
        path = _path(project, f"review-items/{quote(item_id, safe='')}/claim")
        body: JsonDict = self.request("POST", path, json={"reviewer": reviewer})
        return body

    def resolve_review_item(
        self, project: str, item_id: str, reviewer: str, label: str, note: str | None = None
    ) -> JsonDict:
        """Resolve a review item with a human label (stored as a HUMAN annotation)."""
        path = _path(project, f"review-items/{quote(item_id, safe='')}/resolve")
        payload = {"reviewer": reviewer, "label": label, "note": note}
        body: JsonDict = self.request("POST", path, json=payload)
        return body

    def eval_agreement(self, project: str, name: str) -> JsonDict:
        """Judge-versus-human agreement (raw, confusion counts, Cohen's kappa) on ``name``."""
        body: JsonDict = self.request(
            "GET", _path(project, "eval-agreement"), params={"name": name}
        )
        return body
