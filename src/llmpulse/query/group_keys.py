"""Group-by keys as a request gives them, checked and resolved (metrics, segments)."""

from __future__ import annotations

from llmpulse.domain.ids import ProjectName
from llmpulse.query.cohorts import CohortService
from llmpulse.query.service import QueryService
from llmpulse.store.metric_api import GroupKey


async def resolve_group_keys(
    query: QueryService,
    cohorts: CohortService | None,
    project: ProjectName,
    keys: tuple[GroupKey, ...],
    field: str | None = None,
) -> tuple[GroupKey, ...]:
    """``cohort:<name>`` keys turned into their conditions, every other key checked.

    Args:
        query: Answers whether the project's spans carry a key.
        cohorts: Resolves cohort keys (None: there are none to resolve).
        project: The project the keys group.
        keys: The keys as asked.
        field: The request field holding the keys: an error names ``field[i]``
            (None: ``key``).

    Raises:
        InvalidInput: a key names a cohort the project does not have, or no span carries a
            plain key (naming the nearest known keys).
    """
    if cohorts is not None:
        keys = await cohorts.resolve_keys(project, keys)
    for i, key in enumerate(keys):
        if isinstance(key, str):
            await query.require_key(project, key, "key" if field is None else f"{field}[{i}]")
    return keys
