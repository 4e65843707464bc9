"""`ExplainSettings`: the OpenAI-compatible endpoint used for log-prob attribution and what-ifs.

From the environment: ``LLMPULSE_EXPLAIN_BASE_URL`` (e.g. ``http://127.0.0.1:8000/v1``; unset:
no endpoint, RAG attribution falls back to the offline lexical method),
``LLMPULSE_EXPLAIN_MODEL`` (the model name sent, default ``default``) and
``LLMPULSE_EXPLAIN_API_KEY`` (sent as a bearer token when set).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmpulse.explain.endpoint import LogprobsEndpoint


@dataclass(frozen=True)
class ExplainSettings:
    """Where log-probs come from; ``base_url`` None means offline only."""

    base_url: str | None = None
    model: str = "default"
    api_key: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ExplainSettings:
        """Read the ``LLMPULSE_EXPLAIN_*`` variables."""
        return cls(
            base_url=env.get("LLMPULSE_EXPLAIN_BASE_URL") or None,
            model=env.get("LLMPULSE_EXPLAIN_MODEL") or "default",
            api_key=env.get("LLMPULSE_EXPLAIN_API_KEY") or None,
        )

    def endpoint(self) -> LogprobsEndpoint | None:
        """The endpoint client, or None when no base URL is set."""
        if not self.base_url:
            return None
        return LogprobsEndpoint(self.base_url, self.model, self.api_key)
