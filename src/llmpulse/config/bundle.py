"""Read multi-document YAML (or a JSON list) into validated resources.

Every error names the document by its index in the file (0-based, as in the REST body's
``documents`` list: ``documents[1].spec.window``; the CLI prints it as ``doc 2``) and the
field inside it. Two documents with the same kind, project and name are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import yaml

from llmpulse.config.kinds import handler_for
from llmpulse.config.resources import Resource, prefixed
from llmpulse.config.slo_kind import is_slo_document, parse_slo_documents
from llmpulse.domain.errors import FieldError, InvalidInput

MAX_DOCUMENTS = 10_000


def load_documents(text: str) -> list[Any]:
    """Parse multi-document YAML (or one list of manifests, as JSON), skipping empty documents.

    Raises:
        InvalidInput: the text is not YAML (the error gives line and column).
    """
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not valid YAML: {exc}", [FieldError("documents", str(exc))]) from exc
    if len(docs) == 1 and isinstance(docs[0], list):  # a JSON (or YAML) list of manifests
        docs = docs[0]
    docs = [_plain(d) for d in docs]
    if len(docs) > MAX_DOCUMENTS:
        msg = f"at most {MAX_DOCUMENTS} documents"
        raise InvalidInput(msg, [FieldError("documents", msg)])
    return docs


def _plain(value: Any) -> Any:
    """YAML's timestamps as ISO text, so a document is plain JSON (as a REST body is)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def parse_documents(docs: Sequence[Any], project: str | None = None) -> list[Resource]:
    """Validate every document; collect all errors before raising.

    SLO documents (ours and OpenSLO's) are parsed together, since an OpenSLO SLO may refer to
    an SLI or alert policy elsewhere in the file; ``project`` is the project of SLOs that name
    none.

    Raises:
        InvalidInput: one `FieldError` per problem, under ``documents[i]``.
    """
    parsed: list[tuple[int, Resource]] = []
    errors: list[FieldError] = []
    slo_docs = [(i, d) for i, d in enumerate(docs) if is_slo_document(d)]
    if slo_docs:
        try:
            parsed += parse_slo_documents(slo_docs, project)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    for i, doc in enumerate(docs):
        if is_slo_document(doc):
            continue
        try:
            parsed.append((i, handler_for(doc).parse(doc)))
        except InvalidInput as exc:
            errors.extend(prefixed(exc, f"documents[{i}]").errors)
    out: list[Resource] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, resource in sorted(parsed, key=lambda p: p[0]):
        if resource.key in seen:
            msg = f"{resource.label} repeats documents[{seen[resource.key]}]"
            errors.append(FieldError(f"documents[{i}].metadata.name", msg))
            continue
        seen[resource.key] = i
        out.append(resource)
    if errors:
        raise InvalidInput(f"{errors[0].path}: {errors[0].message}", errors)
    return out
