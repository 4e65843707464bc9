"""Operations as `Client` methods (`AdminMixin`): readiness and backups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

JsonDict = dict[str, Any]


class AdminMixin:
    """`ready` (``GET /readyz``) and `backup` (``POST /api/v1/admin/backup``)."""

    _http: httpx.Client

    if TYPE_CHECKING:

        def request(
            self, method: str, path: str, *, json: object = None, params: Any = None
        ) -> Any: ...

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
