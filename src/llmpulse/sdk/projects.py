"""Project lifecycle as `Client` methods (`ProjectsMixin`): delete, retention."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from llmpulse.sdk.query_params import project_path
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


class ProjectsMixin(Requester):
    """`delete_project`, `retention`, `set_retention` and `run_retention`."""

    def delete_project(self, project: str) -> int:
        """Delete a project with all its spans, annotations and settings; the spans deleted."""
        body = self.request("DELETE", f"/api/v1/projects/{quote(project, safe='')}")
        return int(body["spans_deleted"])

    def retention(self, project: str) -> JsonDict:
        """The project's retention: ``days`` kept (None: all) and ``last_run`` (when it ran,
        its ``cutoff`` and ``spans_dropped``; None before the first run)."""
        body: JsonDict = self.request("GET", project_path(project, "retention"))
        return body

    def set_retention(self, project: str, days: int | None) -> JsonDict:
        """Keep ``days`` days of the project's spans (None: keep everything)."""
        body: JsonDict = self.request(
            "PUT", project_path(project, "retention"), json={"days": days}
        )
        return body

    def run_retention(self) -> dict[str, JsonDict]:
        """Run a retention round now; what it did per project with a policy."""
        body = self.request("POST", "/api/v1/admin/retention/run")
        return dict(body["runs"])
