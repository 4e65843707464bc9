"""API keys as `Client` methods (`KeysMixin`); an all-projects ``admin`` key is needed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


class KeysMixin(Requester):
    """List, create and revoke API keys."""

    def list_keys(self) -> list[JsonDict]:
        """Every key (id, name, scopes, project, created, revoked); never tokens."""
        return list(self.request("GET", "/api/v1/keys")["data"])

    def create_key(self, name: str, scopes: Sequence[str], project: str | None = None) -> JsonDict:
        """Create a key; the answer's ``token`` is shown this once."""
        payload = {"name": name, "scopes": list(scopes), "project": project}
        body: JsonDict = self.request("POST", "/api/v1/keys", json=payload)
        return body

    def revoke_key(self, key_id: str) -> JsonDict:
        """Revoke a key at once."""
        body: JsonDict = self.request("DELETE", f"/api/v1/keys/{quote(key_id, safe='')}")
        return body
