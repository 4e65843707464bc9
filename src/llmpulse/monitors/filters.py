"""A monitor's ``filters`` (``kind=llm``, ``attr=metadata.region:eu-west``) as a `SpanFilter`.

The same words the REST span filters take (`llmpulse.query.filters`): ``attr`` (key:value),
``kind``, ``status``, ``model``, ``name`` and ``root_only`` (true/false); each filter is
``name=value`` and filters are ANDed (several ``attr``, ``model`` or ``name`` values too).
"""

from __future__ import annotations

from collections.abc import Sequence

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.query.filters import parse_attr, parse_enum
from llmpulse.store.api import AttrEquals, SpanFilter

NAMES = ("attr", "kind", "status", "model", "name", "root_only")


def span_filter(filters: Sequence[str], path: str = "spec.filters") -> SpanFilter:
    """Parse a monitor's filters.

    Raises:
        InvalidInput: an unknown filter name or a bad value; the error names ``path[i]``.
    """
    attrs: list[AttrEquals] = []
    kinds: list[SpanKind] = []
    models: list[str] = []
    names: list[str] = []
    status: StatusCode | None = None
    root_only = False
    for i, raw in enumerate(filters):
        where = f"{path}[{i}]"
        name, sep, value = raw.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in NAMES or not value:
            raise InvalidInput(
                f"filter {raw!r} is not name=value",
                [FieldError(where, f"write name=value with a name of {', '.join(NAMES)}")],
            )
        if name == "attr":
            attrs.append(parse_attr(value, where))
        elif name == "kind":
            kinds.append(parse_enum(SpanKind, value, where))
        elif name == "status":
            status = parse_enum(StatusCode, value, where)
        elif name == "model":
            models.append(value)
        elif name == "name":
            names.append(value)
        else:
            root_only = value.lower() in ("1", "true", "yes")
    return SpanFilter(
        kinds=tuple(kinds),
        status=status,
        models=tuple(models),
        names=tuple(names),
        attributes=tuple(attrs),
        root_only=root_only,
    )
