"""Configuration as code and its objects, as `Client` methods (`ConfigMixin`).

Objects travel as manifests (``{"apiVersion", "kind", "metadata", "spec"}`` dicts, the YAML
form): monitors, a project's alert route, receivers and silences; `apply` sends a whole
multi-document file and returns the plan; `export` reads everything back as manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from llmpulse.sdk.query_params import project_path
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


def _q(name: str) -> str:
    return quote(name, safe="")


class ConfigMixin(Requester):
    """Apply/export, monitors, routes, receivers, silences and the audit log."""

    def apply(
        self,
        documents: Sequence[JsonDict],
        *,
        prune: bool = False,
        dry_run: bool = False,
        project: str | None = None,
    ) -> JsonDict:
        """Apply manifests; returns the plan (``changes``, ``counts``, ``applied``).

        ``project`` is the project of SLOs that name none (OpenSLO files usually don't).
        """
        payload: JsonDict = {"documents": list(documents), "prune": prune, "dry_run": dry_run}
        if project is not None:
            payload["project"] = project
        body: JsonDict = self.request("POST", "/api/v1/apply", json=payload)
        return body

    def export(self, project: str | None = None) -> list[JsonDict]:
        """Every stored object as a manifest (one project's, plus the receivers)."""
        params = {"project": project} if project else None
        return list(self.request("GET", "/api/v1/export", params=params)["documents"])

    def list_monitors(self, project: str) -> list[JsonDict]:
        """The project's monitors as manifests."""
        return list(self.request("GET", project_path(project, "monitors"))["data"])

    def get_monitor(self, project: str, name: str) -> JsonDict:
        """One monitor's manifest."""
        body: JsonDict = self.request("GET", project_path(project, f"monitors/{_q(name)}"))
        return body

    def put_monitor(self, project: str, name: str, spec: JsonDict) -> JsonDict:
        """Create or replace a monitor from its ``spec`` (``metric``, ``every``, ...)."""
        path = project_path(project, f"monitors/{_q(name)}")
        body: JsonDict = self.request("PUT", path, json={"spec": spec})
        return body

    def delete_monitor(self, project: str, name: str) -> None:
        """Delete a monitor."""
        self.request("DELETE", project_path(project, f"monitors/{_q(name)}"))

    def get_route(self, project: str) -> JsonDict:
        """The project's routing tree as a manifest."""
        body: JsonDict = self.request("GET", project_path(project, "route"))
        return body

    def put_route(self, project: str, spec: JsonDict) -> JsonDict:
        """Create or replace the project's routing tree (``receiver``, ``routes``, ...)."""
        body: JsonDict = self.request("PUT", project_path(project, "route"), json={"spec": spec})
        return body

    def delete_route(self, project: str) -> None:
        """Delete the project's routing tree (its alerts then notify nobody)."""
        self.request("DELETE", project_path(project, "route"))

    def get_receiver(self, name: str) -> JsonDict:
        """One receiver's manifest."""
        body: JsonDict = self.request("GET", f"/api/v1/receivers/{_q(name)}")
        return body

    def list_receivers(self) -> list[JsonDict]:
        """Every receiver as a manifest (secrets as environment references only)."""
        return list(self.request("GET", "/api/v1/receivers")["data"])

    def put_receiver(self, name: str, type_: str, settings: JsonDict) -> JsonDict:
        """Create or replace a receiver, e.g. ``("slack", {"urlFromEnv": "SLACK_URL"})``."""
        spec = {"type": type_, "settings": settings}
        body: JsonDict = self.request("PUT", f"/api/v1/receivers/{_q(name)}", json={"spec": spec})
        return body

    def delete_receiver(self, name: str) -> None:
        """Delete a receiver (refused while a route names it)."""
        self.request("DELETE", f"/api/v1/receivers/{_q(name)}")

    def test_receiver(self, name: str) -> JsonDict:
        """Send a test notification; ``ok`` and ``detail`` say what the service answered."""
        body: JsonDict = self.request("POST", f"/api/v1/receivers/{_q(name)}/test")
        return body

    def create_silence(
        self,
        project: str,
        matchers: Sequence[str],
        *,
        duration: str | None = None,
        ends_at: datetime | str | None = None,
        starts_at: datetime | str | None = None,
        comment: str = "",
        created_by: str | None = None,
        name: str | None = None,
    ) -> JsonDict:
        """Silence the project's alerts matching every matcher (``monitor="x"``) for a while."""
        payload: JsonDict = {"matchers": list(matchers), "comment": comment}
        for key, value in (("duration", duration), ("created_by", created_by), ("name", name)):
            if value is not None:
                payload[key] = value
        for key, t in (("ends_at", ends_at), ("starts_at", starts_at)):
            if t is not None:
                payload[key] = t if isinstance(t, str) else t.isoformat()
        body: JsonDict = self.request("POST", project_path(project, "silences"), json=payload)
        return body

    def list_silences(self, project: str, state: str = "all") -> list[JsonDict]:
        """The project's silences: ``active``, ``pending``, ``expired`` or ``all``."""
        path = project_path(project, "silences")
        return list(self.request("GET", path, params={"state": state})["data"])

    def get_silence(self, project: str, name: str) -> JsonDict:
        """One silence with its state now."""
        body: JsonDict = self.request("GET", project_path(project, f"silences/{_q(name)}"))
        return body

    def expire_silence(self, project: str, name: str) -> JsonDict:
        """End a silence now."""
        body: JsonDict = self.request("POST", project_path(project, f"silences/{_q(name)}/expire"))
        return body

    def audit_log(
        self,
        *,
        kind: str | None = None,
        project: str | None = None,
        name: str | None = None,
        limit: int = 100,
    ) -> list[JsonDict]:
        """Configuration changes, newest first: who, when, action, spec before and after."""
        params: JsonDict = {"limit": limit}
        for key, value in (("kind", kind), ("project", project), ("name", name)):
            if value is not None:
                params[key] = value
        return list(self.request("GET", "/api/v1/audit", params=params)["data"])
