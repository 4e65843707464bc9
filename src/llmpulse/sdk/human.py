"""Human annotation as `Client` methods (`HumanAnnotationMixin`): the project's annotation
names and labels, bulk annotation as the calling key, and editing one's own annotations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from llmpulse.sdk.query_params import project_path
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]


class HumanAnnotationMixin(Requester):
    """`annotation_config`, `set_annotation_config`, `annotate_spans`, `edit_annotation` and
    `delete_annotation`."""

    def annotation_config(self, project: str) -> dict[str, list[str]]:
        """The project's annotation names, each with its allowed labels (empty: any)."""
        body = self.request("GET", project_path(project, "annotation-config"))
        return {k["name"]: list(k["labels"]) for k in body["annotations"]}

    def set_annotation_config(
        self, project: str, config: Mapping[str, Sequence[str]]
    ) -> dict[str, list[str]]:
        """Replace the project's annotation names and labels, e.g.
        ``{"correctness": ["correct", "incorrect"], "note": []}`` (``{}`` removes them)."""
        items = [{"name": n, "labels": list(labels)} for n, labels in config.items()]
        body = self.request(
            "PUT", project_path(project, "annotation-config"), json={"annotations": items}
        )
        return {k["name"]: list(k["labels"]) for k in body["annotations"]}

    def annotate_spans(
        self,
        project: str,
        span_ids: Sequence[str],
        name: str,
        *,
        label: str | None = None,
        score: float | None = None,
        note: str | None = None,
    ) -> list[JsonDict]:
        """Annotate spans of the project as the calling key; the annotations made."""
        body = self.request(
            "POST",
            project_path(project, "annotations"),
            json={"span_ids": list(span_ids), "name": name, "label": label, "score": score,
                  "note": note},
        )  # fmt: skip
        return list(body["data"])

    def edit_annotation(
        self,
        annotation_id: str,
        *,
        label: str | None = None,
        score: float | None = None,
        note: str | None = None,
    ) -> JsonDict:
        """Replace the label, score and note of one's own annotation."""
        body: JsonDict = self.request(
            "PATCH",
            f"/api/v1/annotations/{quote(annotation_id, safe='')}",
            json={"label": label, "score": score, "note": note},
        )
        return body

    def delete_annotation(self, annotation_id: str) -> JsonDict:
        """Delete one's own annotation; returns it."""
        body: JsonDict = self.request(
            "DELETE", f"/api/v1/annotations/{quote(annotation_id, safe='')}"
        )
        return body
