"""`Explainers`: the explanation services a server holds, built from its stores."""

from __future__ import annotations

from dataclasses import dataclass

from llmpulse.clock import Clock
from llmpulse.explain.rag import RagExplainer
from llmpulse.explain.records import ExplanationRecords
from llmpulse.explain.settings import ExplainSettings
from llmpulse.explain.structured import StructuredExplainer
from llmpulse.explain.surrogate_cache import SurrogateCache
from llmpulse.query.service import QueryService
from llmpulse.store.api import StateStore
from llmpulse.store.state.explanations import explanation_store


@dataclass(frozen=True)
class Explainers:
    """Records, structured-decision and RAG explainers sharing one record chain."""

    records: ExplanationRecords
    structured: StructuredExplainer
    rag: RagExplainer

    async def aclose(self) -> None:
        """Close the endpoint's connections."""
        if self.rag.endpoint is not None:
            await self.rag.endpoint.aclose()


def build_explainers(
    query: QueryService, state: StateStore, clock: Clock, settings: ExplainSettings
) -> Explainers:
    """Wire the explainers over the server's query service and state store."""
    records = ExplanationRecords(explanation_store(state), clock)
    return Explainers(
        records=records,
        structured=StructuredExplainer(query, state, records, SurrogateCache(clock)),
        rag=RagExplainer(records, settings.endpoint()),
    )
