"""``kind: SLO`` (ours) and the OpenSLO ``openslo/v1`` kinds in ``llmpulse apply`` (issue 11).

An OpenSLO SLO may name an SLI, AlertPolicy or AlertCondition defined in another document of
the same file, so the SLO documents of a file are parsed together
(`slos.manifests.parse_documents`), each becoming one ``SLO`` resource in our canonical form;
the SLI/AlertPolicy/AlertCondition documents are absorbed into the SLOs that use them and are
not stored on their own. Export writes ``llmpulse/v1`` SLO manifests, which apply back to the
same resources (apply → export → apply is a no-op). Errors keep the document index of the
whole file (``documents[3].spec.objectives[0].target``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from llmpulse.config.resources import Resource
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.slos import manifests, openslo
from llmpulse.slos.spec import API_VERSION as SLO_API_VERSION
from llmpulse.slos.spec import SloSpec

OPENSLO_KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition")
_INDEX = re.compile(r"documents\[(\d+)\]")


def is_slo_document(doc: Any) -> bool:
    """Whether ``doc`` belongs to the SLO family (parsed with the file's other SLO documents)."""
    if not isinstance(doc, Mapping):
        return False
    version, kind = doc.get("apiVersion"), doc.get("kind")
    if version == SLO_API_VERSION:
        return kind == "SLO"
    return version == openslo.API_VERSION


def resource_of(spec: SloSpec) -> Resource:
    """An `SloSpec` as a stored resource (its ``llmpulse/v1`` manifest's ``spec``)."""
    return Resource("SLO", spec.project, spec.name, spec.to_manifest()["spec"])


def _renumbered(err: InvalidInput, index: Sequence[int]) -> InvalidInput:
    """The error with ``documents[j]`` (of the SLO subset) as ``documents[index[j]]``."""

    def fix(text: str) -> str:
        return _INDEX.sub(lambda m: f"documents[{index[int(m.group(1))]}]", text)

    errors = [FieldError(fix(e.path), fix(e.message)) for e in err.errors]
    return InvalidInput(fix(err.detail), errors)


def parse_slo_documents(
    docs: Sequence[tuple[int, Any]], project: str | None = None
) -> list[tuple[int, Resource]]:
    """The SLOs of a file's SLO-family documents, each with the index of its ``kind: SLO``.

    Args:
        docs: ``(index in the file, document)`` of every SLO-family document.
        project: the project of SLOs that name none.

    Raises:
        InvalidInput: an invalid document or a dangling reference, paths by file index.
    """
    index = [i for i, _ in docs]
    try:
        specs = manifests.parse_documents([d for _, d in docs], project)
    except InvalidInput as err:
        raise _renumbered(err, index) from None
    slo_index = [i for i, d in docs if d.get("kind") == "SLO"]
    return [(i, resource_of(s)) for i, s in zip(slo_index, specs, strict=True)]


class SloKind:
    """``llmpulse/v1`` and ``openslo/v1`` ``kind: SLO`` on their own (no references)."""

    kind: ClassVar[str] = "SLO"
    project_scoped: ClassVar[bool] = True

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Validate one SLO manifest (errors name ``spec.<field>``)."""
        try:
            ((_, resource),) = parse_slo_documents([(0, dict(doc))])
        except InvalidInput as err:
            errors = [
                FieldError(e.path.removeprefix("documents[0].") or "$", e.message)
                for e in err.errors
            ]
            raise InvalidInput(err.detail.replace("documents[0].", ""), errors) from None
        return resource


class OpenSloPartKind:
    """OpenSLO SLI, AlertPolicy and AlertCondition: valid only beside the SLOs that use them."""

    kind: ClassVar[str] = "SLO"
    project_scoped: ClassVar[bool] = True

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Always refuses: these documents are read with the SLOs of their file.

        Raises:
            InvalidInput: always (the bundle parses them with `parse_slo_documents`).
        """
        msg = f"an OpenSLO {doc.get('kind')} is applied with the SLOs of its file"
        raise InvalidInput(msg, [FieldError("kind", msg)])
