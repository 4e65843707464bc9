"""Which keys a project's spans carry: to answer an unknown key with the nearest known ones.

`key_exists` is cheap for a key that exists (typed columns by name; metadata keys from the
promoted ``metadata_kv`` pairs; attribute keys stop at the first span that has one).
`known_keys` lists typed columns, every metadata key and the attribute keys of the newest
`SAMPLE` spans, for the suggestions of an error message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llmpulse.domain.ids import ProjectName
from llmpulse.store.events.columns import (
    KEY_ALIASES,
    METADATA_PREFIX,
    TAG_KEY,
    TYPED_ATTRIBUTE_KEYS,
    canonical_key,
    json_path,
)
from llmpulse.store.events.compiler import GROUP_COLUMNS

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
SAMPLE = 20_000
_TYPED = GROUP_COLUMNS | TYPED_ATTRIBUTE_KEYS | {TAG_KEY} | set(KEY_ALIASES)


def key_exists(query: Query, project: ProjectName, key: str) -> bool:
    """Whether ``key`` is a typed column or any span of the project carries it."""
    key = canonical_key(key)
    if key in _TYPED:
        return True
    if key.startswith(METADATA_PREFIX):
        name = key[len(METADATA_PREFIX) :]
        rows = query(
            "SELECT 1 FROM spans WHERE project = ? AND list_any_value(list_filter(metadata_kv, "
            "lambda p: starts_with(p, ? || chr(31)))) IS NOT NULL LIMIT 1",
            [project, name],
        )
        return bool(rows)
    rows = query(
        "SELECT 1 FROM spans WHERE project = ? AND json_exists(attributes, ?) LIMIT 1",
        [project, json_path(key)],
    )
    return bool(rows)


def known_keys(query: Query, project: ProjectName) -> list[str]:
    """Typed keys, the project's metadata keys and recent attribute keys, sorted."""
    rows = query(
        "SELECT DISTINCT k FROM ("
        " SELECT ? || split_part(unnest(metadata_kv), chr(31), 1) AS k FROM spans"
        " WHERE project = ?"
        " UNION ALL"
        " SELECT unnest(json_keys(attributes)) AS k FROM ("
        f"  SELECT attributes FROM spans WHERE project = ? ORDER BY start_time DESC LIMIT {SAMPLE}"
        " ))",
        [METADATA_PREFIX, project, project],
    )
    return sorted({str(r[0]) for r in rows} | _TYPED)
