"""Read SLO files: our ``kind: SLO`` and OpenSLO documents, in any mix, into `SloSpec`s.

Errors name the document and field (``documents[2].spec.objectives[0].target``); a file
that fails anywhere yields nothing, so applying it changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import yaml

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.slos import openslo
from llmpulse.slos.spec import API_VERSION, SloSpec

KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", *sorted(openslo.IGNORED_KINDS))


def load_yaml(text: str) -> list[Any]:
    """The documents of a YAML stream (``---`` separated; a top-level list is spread).

    Raises:
        InvalidInput: the text is not YAML.
    """
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise InvalidInput(f"not YAML: {err}", [FieldError("file", str(err))]) from None
    out: list[Any] = []
    for d in docs:
        out.extend(d if isinstance(d, list) else [d])
    return [_plain(d) for d in out]


def _plain(value: Any) -> Any:
    """YAML timestamps as text, so a document is plain JSON (OpenSLO's calendar startTime)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def parse_documents(docs: list[Any], project: str | None = None) -> list[SloSpec]:
    """Every SLO the documents define; ``project`` fills SLOs that name none.

    Raises:
        InvalidInput: an unknown apiVersion or kind, a dangling reference, an invalid field.
    """
    cat = openslo.Catalog()
    slos: list[tuple[int, dict[str, Any]]] = []
    for i, doc in enumerate(docs):
        path = f"documents[{i}]"
        if not isinstance(doc, dict):
            raise InvalidInput("a document must be a mapping", [FieldError(path, "mapping")])
        version, kind = doc.get("apiVersion"), doc.get("kind")
        if version not in (API_VERSION, openslo.API_VERSION):
            msg = f"expected {API_VERSION} or {openslo.API_VERSION}"
            raise InvalidInput(f"{path}.apiVersion: {msg}", [FieldError(f"{path}.apiVersion", msg)])
        allowed = ("SLO",) if version == API_VERSION else KINDS
        if kind not in allowed:
            msg = f"expected one of {', '.join(allowed)}"
            raise InvalidInput(f"{path}.kind: {msg}", [FieldError(f"{path}.kind", msg)])
        if kind == "SLO":
            slos.append((i, doc))
        elif kind not in openslo.IGNORED_KINDS:
            cat.add(doc, path)
    out = []
    for i, doc in slos:
        path = f"documents[{i}]"
        if doc["apiVersion"] == API_VERSION:
            out.append(SloSpec.from_manifest(doc, path, project))
        else:
            out.append(openslo.slo_from_openslo(doc, path, cat, project))
    return out


def export_documents(specs: list[SloSpec], fmt: str = "llmpulse") -> list[dict[str, Any]]:
    """The SLOs as documents of our schema (``llmpulse``) or OpenSLO (``openslo``)."""
    if fmt == "openslo":
        return [openslo.to_openslo(s) for s in specs]
    return [s.to_manifest() for s in specs]
