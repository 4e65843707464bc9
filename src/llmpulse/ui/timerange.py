"""The time-range picker shown on every project page, and the range carried by its links.

The range lives in the URL: ``window`` (a preset: ``15m``, ``1h``, ``6h``, ``24h``, ``7d``,
``30d``, ``all``) or an absolute ``start``/``end`` (which win over ``window``; see
`llmpulse.ui.windows`). The picker's preset links keep every other query value of the page
and drop the paging cursor (a cursor belongs to one range); the project tabs carry the range
to the next page (`TimePicker.query`). No I/O: the picker only reads the query string.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from llmpulse.ui.windows import WINDOWS

RANGE_KEYS = ("window", "start", "end")
PRESETS = (*(key for key in WINDOWS if key != "all"), "all")
"""The picker's buttons: the windows of `llmpulse.ui.windows`, shortest first, then all."""
DROPPED = (*RANGE_KEYS, "cursor", "since")


@dataclass(frozen=True, slots=True)
class Preset:
    """One preset button of the picker."""

    key: str
    href: str
    on: bool


@dataclass(frozen=True, slots=True)
class TimePicker:
    """What the picker template draws, read from the page's query string."""

    window: str
    start: str
    end: str
    presets: tuple[Preset, ...]
    keep: tuple[tuple[str, str], ...]  # the page's other values, as hidden inputs

    @property
    def is_custom(self) -> bool:
        """True when an absolute start or end is set."""
        return bool(self.start or self.end)

    @property
    def params(self) -> list[tuple[str, str]]:
        """The range's own query values (what the project tabs carry)."""
        if self.is_custom:
            return [(k, v) for k, v in (("start", self.start), ("end", self.end)) if v]
        return [("window", self.window)] if self.window and self.window != "all" else []

    @property
    def query(self) -> str:
        """``?window=24h`` (or ``?start=…&end=…``), empty for the whole data window."""
        params = self.params
        return "?" + urlencode(params) if params else ""


def range_values(params: Iterable[tuple[str, str]]) -> tuple[str, str, str]:
    """The first non-blank ``window``, ``start`` and ``end`` of a query string."""
    found: dict[str, str] = {}
    for key, value in params:
        if key in RANGE_KEYS and value.strip() and key not in found:
            found[key] = value.strip()
    return found.get("window", ""), found.get("start", ""), found.get("end", "")


def time_picker(params: Iterable[tuple[str, str]]) -> TimePicker:
    """The picker for a page whose query string is ``params``."""
    pairs = list(params)
    window, start, end = range_values(pairs)
    keep = tuple((k, v) for k, v in pairs if k not in DROPPED and v != "")
    custom = bool(start or end)
    current = "" if custom else (window or "all")
    presets = tuple(
        Preset(p, "?" + urlencode([*keep, *([("window", p)] if p != "all" else [])]), p == current)
        for p in PRESETS
    )
    return TimePicker(window, start, end, presets, keep)
