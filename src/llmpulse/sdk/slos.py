"""SLOs, compliance reports, the status feed and the rollout gate, as `Client` methods."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from llmpulse.sdk.query_params import project_path, to_time
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


def _slo(project: str, name: str, tail: str = "") -> str:
    return project_path(project, f"slos/{quote(name, safe='')}{tail}")


class SlosMixin(Requester):
    """SLO definitions (also as files), their status, reports and the gate."""

    def list_slos(self, project: str) -> list[JsonDict]:
        """Every SLO of the project with its status, the least budget remaining first."""
        return list(self.request("GET", project_path(project, "slos"))["data"])

    def get_slo(self, project: str, name: str) -> JsonDict:
        """One SLO: manifest, status, burn rates per window, alerts raised, burn-down."""
        body: JsonDict = self.request("GET", _slo(project, name))
        return body

    def put_slo(self, project: str, name: str, spec: JsonDict) -> JsonDict:
        """Create or replace an SLO from the ``spec`` of a kind SLO manifest."""
        body: JsonDict = self.request("PUT", _slo(project, name), json={"spec": spec})
        return body

    def delete_slo(self, project: str, name: str) -> None:
        """Delete an SLO."""
        self.request("DELETE", _slo(project, name))

    def apply_slos(
        self,
        project: str,
        documents: Sequence[JsonDict],
        *,
        prune: bool = False,
        dry_run: bool = False,
    ) -> JsonDict:
        """Apply SLO documents (kind SLO, or OpenSLO SLO/SLI/AlertPolicy/AlertCondition).

        Returns the plan: ``create``, ``update``, ``unchanged``, ``delete``, ``applied``.
        """
        payload = {"documents": list(documents), "prune": prune, "dry_run": dry_run}
        body: JsonDict = self.request("POST", project_path(project, "slos/apply"), json=payload)
        return body

    def export_slos(self, project: str, format: str = "llmpulse") -> list[JsonDict]:
        """The project's SLOs as documents (``llmpulse`` or ``openslo``)."""
        path = project_path(project, "slo-definitions")
        return list(self.request("GET", path, params={"format": format})["documents"])

    def slo_report(
        self,
        project: str,
        name: str,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        period: str = "month",
        format: str = "json",
    ) -> Any:
        """Compliance per period (JSON dict, or CSV text with ``format="csv"``)."""
        params = {"period": period, "format": format}
        if start is not None:
            params["start"] = to_time(start)
        if end is not None:
            params["end"] = to_time(end)
        return self.request("GET", _slo(project, name, "/report"), params=params)

    def slo_status_feed(self, project: str) -> JsonDict:
        """The project's status feed (for status pages)."""
        body: JsonDict = self.request("GET", project_path(project, "status"))
        return body

    def gate(
        self,
        project: str,
        version: str,
        *,
        baseline: str | None = None,
        window: str = "24h",
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        slos: Sequence[str] = (),
    ) -> JsonDict:
        """Pass or fail ``version`` for a rollout: ``passed``, guard rails, SLO checks, reasons."""
        params: list[tuple[str, str]] = [("version", version), ("window", window)]
        if baseline is not None:
            params.append(("baseline", baseline))
        if start is not None:
            params.append(("start", to_time(start)))
        if end is not None:
            params.append(("end", to_time(end)))
        params += [("slo", s) for s in slos]
        body: JsonDict = self.request("GET", project_path(project, "gate"), params=params)
        return body

    def slo_digest(self, project: str, period: str = "day") -> JsonDict:
        """The project's daily (or weekly) digest: SLOs, incidents, worst segments, cost, text."""
        params = {"period": period}
        body: JsonDict = self.request("GET", project_path(project, "digest"), params=params)
        return body
