"""`PriceConfig`: the price book in force = shipped table + YAML file + API overrides.

Precedence, lowest first: the table shipped with the package, the YAML file named by
``--prices`` (``LLMPULSE_PRICES``), then the overrides set through the API (kept in the state
store, so they survive restarts). Changing the overrides swaps the book used at ingest.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from llmpulse.domain.patterns import compile_pattern
from llmpulse.domain.specs import PriceTable
from llmpulse.ingest.decode_pool import PriceSnapshot
from llmpulse.ingest.enrich import CostEnricher
from llmpulse.ingest.pricing import PriceBook, load_price_table, shipped_price_table
from llmpulse.store.api import StateStore

log = logging.getLogger(__name__)
DOC_KIND = "prices"
DOC_NAME = "overrides"


class PriceConfig:
    """Holds the layered price tables and the `CostEnricher` built from them."""

    def __init__(self, state: StateStore, file: Path | None = None) -> None:
        self._state = state
        self.file_table = load_price_table(file) if file is not None else None
        doc = state.get_document(DOC_KIND, DOC_NAME)
        self.overrides = stored_overrides(doc.body) if doc else None
        self.version = 0
        self.enricher = CostEnricher(self._book())
        self._snapshot = self._make_snapshot()

    def _tables(self) -> list[PriceTable]:
        """The layers in force, lowest precedence first."""
        return [t for t in (self.shipped, self.file_table, self.overrides) if t is not None]

    def _make_snapshot(self) -> PriceSnapshot:
        return PriceSnapshot(self.version, tuple(t.model_dump_json() for t in self._tables()))

    def snapshot(self) -> PriceSnapshot:
        """The tables in force, versioned, for decode workers."""
        return self._snapshot

    def _changed(self) -> None:
        self.version += 1
        self.enricher = CostEnricher(self._book())
        self._snapshot = self._make_snapshot()

    @property
    def shipped(self) -> PriceTable:
        """The table shipped with llmpulse."""
        return shipped_price_table()

    def _book(self) -> PriceBook:
        return PriceBook(self._tables())

    def set_overrides(self, table: PriceTable, now: datetime) -> None:
        """Persist ``table`` as the API overrides and price new spans with it."""
        self._state.put_document(DOC_KIND, DOC_NAME, table.model_dump_json(), now)
        self.overrides = table
        self._changed()

    def clear_overrides(self) -> bool:
        """Drop the API overrides; True when there were some."""
        existed = self._state.delete_document(DOC_KIND, DOC_NAME)
        self.overrides = None
        self._changed()
        return existed


def stored_overrides(body: str) -> PriceTable | None:
    """The overrides saved by this or an older version, without the entries it cannot use.

    Older versions accepted any Python regular expression; a pattern RE2 refuses
    (backreferences, lookaround) would stop the server from starting, so its entry is dropped
    with a warning naming it, and the other entries stay in force. Returns None when nothing
    usable is left.
    """
    try:
        return PriceTable.model_validate_json(body)
    except ValidationError:
        pass
    try:
        data = json.loads(body)
        prices = [p for p in data["prices"] if _usable(p)]
        return PriceTable.model_validate({**data, "prices": prices}) if prices else None
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the stored price overrides: %s", exc)
        return None


def _usable(entry: object) -> bool:
    pattern = entry.get("match") if isinstance(entry, dict) else None
    if not isinstance(pattern, str):
        return True
    try:
        compile_pattern(pattern)
    except ValueError as exc:
        log.warning("ignoring stored price entry with pattern %r: %s", pattern, exc)
        return False
    return True
