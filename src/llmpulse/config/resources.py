"""`Resource`: one validated configuration object in canonical form, and envelope helpers.

The canonical form is what is stored and exported: a manifest's ``spec`` as plain JSON with
defaults left out, durations as ``5m`` text and secrets as environment references only, so that
parsing an exported manifest gives back the same resource (apply → export → apply is a no-op).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from llmpulse.alerts.matchers import parse_matcher
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import check_project_name

API_VERSION = "llmpulse/v1"
NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$"
_ENVELOPE = frozenset({"apiVersion", "kind", "metadata", "spec"})


@dataclass(frozen=True, slots=True)
class Resource:
    """A configuration object: kind, project (``""`` when it has none), name and spec."""

    kind: str
    project: str
    name: str
    spec: Mapping[str, Any]
    api_version: str = API_VERSION

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity: (kind, project, name)."""
        return (self.kind, self.project, self.name)

    @property
    def spec_json(self) -> str:
        """The spec as canonical JSON text (sorted keys, no spaces): what the store keeps."""
        return canonical_json(self.spec)

    @property
    def label(self) -> str:
        """``Monitor rag-demo/checkout-latency`` or ``Receiver oncall``."""
        return f"{self.kind} {self.project + '/' if self.project else ''}{self.name}"

    def manifest(self) -> dict[str, Any]:
        """The YAML manifest of this object."""
        meta: dict[str, Any] = {"name": self.name}
        if self.project:
            meta["project"] = self.project
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": meta,
            "spec": json.loads(self.spec_json),
        }


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces (equal specs give equal text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def envelope(doc: Any, *, project_scoped: bool) -> tuple[str, str, dict[str, Any]]:
    """Check a manifest's envelope and return ``(project, name, spec)``.

    Raises:
        InvalidInput: not a mapping, unknown top-level keys, a bad name or project.
    """
    if not isinstance(doc, Mapping):
        raise InvalidInput("a manifest must be a mapping", [FieldError("$", "expected a mapping")])
    extra = sorted(set(doc) - _ENVELOPE)
    if extra:
        raise InvalidInput(
            f"unknown top-level field {extra[0]!r}", [FieldError(extra[0], "unknown field")]
        )
    meta = doc.get("metadata")
    spec = doc.get("spec")
    if not isinstance(meta, Mapping):
        raise InvalidInput("metadata must be a mapping", [FieldError("metadata", "required")])
    if not isinstance(spec, Mapping):
        raise InvalidInput("spec must be a mapping", [FieldError("spec", "required")])
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("metadata.name is required", [FieldError("metadata.name", "required")])
    project = meta.get("project") or ""
    if project_scoped:
        if not isinstance(project, str) or not project:
            raise InvalidInput(
                "metadata.project is required", [FieldError("metadata.project", "required")]
            )
        try:
            check_project_name(project)
        except ValueError as exc:
            raise InvalidInput(str(exc), [FieldError("metadata.project", str(exc))]) from exc
    elif project:
        raise InvalidInput(
            "this kind belongs to no project",
            [FieldError("metadata.project", "not allowed for this kind")],
        )
    return str(project), name, dict(spec)


def spec_errors(err: ValidationError, prefix: str = "spec") -> InvalidInput:
    """A pydantic error as `InvalidInput` whose paths start with ``prefix``."""
    errors = []
    for e in err.errors():
        parts = [str(p) for p in e["loc"]]
        path = prefix
        for p in parts:
            path += f"[{p}]" if p.isdigit() else f".{p}"
        errors.append(FieldError(path, str(e["msg"])))
    first = f"{errors[0].path}: {errors[0].message}" if errors else "invalid spec"
    return InvalidInput(first, errors)


def prefixed(err: InvalidInput, prefix: str) -> InvalidInput:
    """The same error with every path under ``prefix`` (``documents[2]``)."""
    errors = [
        FieldError(prefix if e.path == "$" else f"{prefix}.{e.path}", e.message) for e in err.errors
    ] or [FieldError(prefix, err.detail)]
    detail = f"{errors[0].path}: {errors[0].message}"
    return InvalidInput(detail, errors)


def canonical_matchers(texts: tuple[str, ...]) -> tuple[str, ...]:
    """Label matchers (`alerts.matchers.parse_matcher`) in their canonical text, for a pydantic
    field validator: a bad one is a ValueError carrying the parser's message."""
    out = []
    for text in texts:
        try:
            out.append(str(parse_matcher(text)))
        except InvalidInput as exc:
            raise ValueError(exc.detail) from exc
    return tuple(out)
