"""Durations as people type them: ``30s``, ``5m``, ``24h``, ``7d``, ``2w`` or plain seconds.

One parser for the REST API (``bucket=``), the UI (window pickers) and the CLI (``--since``),
so the same text means the same span of time everywhere.
"""

from __future__ import annotations

import re
from datetime import timedelta

from llmpulse.domain.errors import FieldError, InvalidInput

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str, field: str, *, unit_required: bool = False) -> timedelta:
    """A positive duration; a bare number is seconds unless ``unit_required``.

    Raises:
        InvalidInput: not a whole number followed by s, m, h, d or w (or nothing), or zero;
            the error names ``field``.
    """
    m = _DURATION.match(text)
    if not m or int(m.group(1)) < 1 or (unit_required and not m.group(2)):
        msg = f"{text!r} is not a duration such as 5m, 24h, 7d or 2w"
        raise InvalidInput(msg, [FieldError(field, msg)])
    return timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2).lower()])
