"""Operations as `Client` methods (`AdminMixin`): readiness and backups."""

from __future__ import annotations

from typing import Any

from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


class AdminMixin(Requester):
    """`ready` (``GET /readyz``) and `backup` (``POST /api/v1/admin/backup``)."""

    def ready(self) -> JsonDict:
        """The server's readiness: ``ready``, ``reasons``, ``warnings``, disk and workers.

        Answered whether the server is ready (200) or not (503); never retried.
        """
        body: JsonDict = self._http.get("/readyz").json()
        return body

    def backup(self, name: str | None = None) -> JsonDict:
        """Have the server copy its data directory into its backup directory, as ``name``
        (default: the UTC time); ingest goes on meanwhile. Returns target, spans, bytes."""
        body: JsonDict = self.request("POST", "/api/v1/admin/backup", json={"name": name})
        return body
