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
from llmpulse.domain.errors import FieldError, InvalidInput

MAX_DOCUMENTS = 10_000


def load_documents(text: str) -> list[Any]:
    """Parse multi-document YAML, skipping empty documents.

    Raises:
        InvalidInput: the text is not YAML (the error gives line and column).
    """
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not valid YAML: {exc}", [FieldError("documents", str(exc))]) from exc
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


def parse_documents(docs: Sequence[Any]) -> list[Resource]:
    """Validate every document; collect all errors before raising.

    Raises:
        InvalidInput: one `FieldError` per problem, under ``documents[i]``.
    """
    out: list[Resource] = []
    errors: list[FieldError] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, doc in enumerate(docs):
        where = f"documents[{i}]"
        try:
            resource = handler_for(doc).parse(doc)
        except InvalidInput as exc:
            errors.extend(prefixed(exc, where).errors)
            continue
        if resource.key in seen:
            msg = f"{resource.label} repeats documents[{seen[resource.key]}]"
            errors.append(FieldError(f"{where}.metadata.name", msg))
            continue
        seen[resource.key] = i
        out.append(resource)
    if errors:
        raise InvalidInput(f"{errors[0].path}: {errors[0].message}", errors)
    return out
