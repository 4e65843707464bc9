"""A value's JSON text as DuckDB writes it back out of a JSON document (ADR 0059).

``json_extract_string(metadata, '$."key"')`` returns a string value as itself and any other
value as DuckDB's own JSON text of it, which is not orjson's in two ways, both reproduced
here (a test compares both over half a million doubles and odd nested values):

- a double has the same shortest digits, but is written in plain notation from 1e-6 up to
  1e21 (``1e20`` as ``100000000000000000000.0``, a whole number with ``.0``) and in
  exponent notation outside it, without a ``+`` (``1e21``, ``1.5e-7``);
- a control character without a short escape is written ``\\u001F`` (capitals); strings
  holding one are refused (`Unsure`) rather than escaped here.

A value that is not JSON (what only the store's encoder turns into JSON: bytes, sets, …)
or an object with keys that are not strings is refused as well.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

_CONTROL = re.compile("[\x00-\x07\x0b\x0e-\x1f]")
"""Control characters without a short escape (``\\b \\t \\n \\f \\r`` have one)."""


class Unsure(Exception):
    """A value whose DuckDB JSON text this module does not reproduce."""


def double_text(value: float) -> str:
    """A finite double as DuckDB writes it in JSON."""
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    if not digits:
        return f"{sign}0.0"
    # value = 0.<digits> times 10**point
    point = len(whole) + int(exponent or 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0")
    if -6 <= point - 1 < 21:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    tail = f".{digits[1:]}" if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{tail}e{point - 1}"


def json_text(value: Any) -> str:
    """``value`` (as the store's encoder wrote it into the document) as DuckDB's JSON text.

    Raises:
        Unsure: see the module doc.
    """
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return double_text(value) if math.isfinite(value) else "null"  # orjson wrote null
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise Unsure
        return orjson.dumps(value).decode()
    if isinstance(value, list | tuple):
        return f"[{','.join(json_text(v) for v in value)}]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise Unsure
        return "{" + ",".join(f"{json_text(k)}:{json_text(v)}" for k, v in value.items()) + "}"
    raise Unsure
