"""`Client`: log predictions, evaluations and feedback to an llmpulse server over HTTP.

Synchronous, on httpx. Each call returns once the server has stored the data durably (the
server answers 200 only after its commit). Back-pressure answers (429, 502, 503, 504) are
retried a few times with exponential backoff that honours ``Retry-After``; any other error
raises `LlmpulseApiError` with the problem's field paths.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from llmpulse.domain.ids import check_project_name
from llmpulse.sdk.admin import AdminMixin
from llmpulse.sdk.alerts import AlertsMixin
from llmpulse.sdk.analytics import AnalyticsMixin
from llmpulse.sdk.cohorts import CohortsMixin
from llmpulse.sdk.config_objects import ConfigMixin
from llmpulse.sdk.errors import error_from as _error
from llmpulse.sdk.errors import unreachable
from llmpulse.sdk.evals import EvalsMixin
from llmpulse.sdk.explanations import ExplanationsMixin
from llmpulse.sdk.human import HumanAnnotationMixin
from llmpulse.sdk.keys import KeysMixin
from llmpulse.sdk.projects import ProjectsMixin
from llmpulse.sdk.query_params import Params, project_path
from llmpulse.sdk.records import (
    EmbeddingArg,
    JsonDict,
    RejectedRecord,
    annotation_payload,
    prediction_payload,
)
from llmpulse.sdk.schema import Schema, dataframe_to_records, evaluations_to_annotations
from llmpulse.sdk.sessions import SessionsMixin
from llmpulse.sdk.slos import SlosMixin
from llmpulse.sdk.traces import TracesMixin

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

__all__ = ["AnnotationResult", "Client", "LogResult", "Schema"]

DEFAULT_ENDPOINT = "http://127.0.0.1:7600"
MAX_RECORDS_PER_REQUEST = 10_000
_PAGE_MAX = 1000  # the server's largest page
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_RECORD_PATH = re.compile(r"^records\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class LogResult:
    """What the server accepted and which records (by index) it rejected, and why."""

    accepted: int
    rejected: list[RejectedRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AnnotationResult:
    """Ids of the annotations stored, and the items rejected (by index and path)."""

    inserted: int
    ids: list[str] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)


def _rejections(items: object, offset: int) -> list[RejectedRecord]:
    out: list[RejectedRecord] = []
    for item in items if isinstance(items, list) else []:
        index = int(item.get("index", 0)) + offset
        path = _RECORD_PATH.sub(f"records[{index}]", str(item.get("path", "")))
        out.append(RejectedRecord(index, path, str(item.get("message", ""))))
    return out


def _retry_after_s(response: httpx.Response, attempt: int) -> float:
    header = str(response.headers.get("retry-after", ""))
    try:
        seconds = float(header)
    except ValueError:
        return min(0.25 * 2.0**attempt, 8.0)  # no (or an HTTP-date) Retry-After: back off
    return min(max(seconds, 0.0), 60.0)


class Client(
    AnalyticsMixin, CohortsMixin, ConfigMixin, KeysMixin, AdminMixin, SessionsMixin, TracesMixin,
    ExplanationsMixin, AlertsMixin, SlosMixin, EvalsMixin, ProjectsMixin, HumanAnnotationMixin,
):  # fmt: skip
    """A connection to one llmpulse server.

    Logging methods are defined here; metric, segment, fairness, comparison and price
    methods come from `AnalyticsMixin`.

    Args:
        endpoint: base URL of the server (``http://host:7600``).
        api_key: sent as ``Authorization: Bearer <key>``; default: ``LLMPULSE_API_KEY``.
        timeout: seconds per HTTP request.
        max_retries: how often a back-pressure answer (429/502/503/504) is retried.
        sleep: how to wait between retries (``time.sleep``; tests may pass a recorder).
        actor: who the audit log names for changes on a server without API keys (with keys,
            it names the key).
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        actor: str | None = None,
    ) -> None:
        headers = {"user-agent": "llmpulse-sdk"}
        if actor:  # who the audit log names on a server without API keys (e.g. "cli")
            headers["x-llmpulse-actor"] = actor
        api_key = api_key or os.environ.get("LLMPULSE_API_KEY") or None
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self.endpoint = endpoint.rstrip("/")
        self._http = httpx.Client(base_url=self.endpoint, headers=headers, timeout=timeout)
        self._max_retries = max_retries
        self._sleep = sleep

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, Any] | Params | None = None,
    ) -> Any:
        """Send one request, retrying back-pressure answers; return the decoded body.

        A JSON answer is decoded; any other (CSV) is returned as text.

        Raises:
            LlmpulseApiError: for any non-2xx answer left after retries.
            ServerUnreachable: no server answers at the endpoint (the message says how to
                start one).
        """
        for attempt in range(self._max_retries + 1):
            try:
                response = self._http.request(method, path, json=json, params=params)
            except httpx.ConnectError as exc:
                raise unreachable(self.endpoint, exc) from exc
            if response.status_code in _RETRY_STATUSES and attempt < self._max_retries:
                self._sleep(_retry_after_s(response, attempt))
                continue
            if response.is_success:
                if not response.content:
                    return None
                if "json" not in response.headers.get("content-type", "json"):
                    return response.text
                return response.json()
            raise _error(response)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- predictions ---------------------------------------------------------------------

    def log_records(self, records: Sequence[JsonDict], project: str) -> LogResult:
        """Send ready ``PredictionIn`` objects in requests of at most 10,000 records.

        Raises:
            ValueError: ``project`` cannot name a project (``.``, ``..``, a ``/`` in it, …).
        """
        check_project_name(project)
        accepted, rejected = 0, []
        url = project_path(project, "predictions")
        for start in range(0, len(records), MAX_RECORDS_PER_REQUEST):
            chunk = list(records[start : start + MAX_RECORDS_PER_REQUEST])
            body = self.request("POST", url, json={"records": chunk}) or {}
            accepted += int(body.get("accepted", 0))
            rejected += _rejections(body.get("rejected"), start)
        return LogResult(accepted, rejected)

    def log(
        self,
        prediction_id: str,
        model_id: str | None = None,
        model_version: str | None = None,
        environment: str | None = None,
        features: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        prediction_label: str | None = None,
        prediction_score: float | None = None,
        actual_label: str | None = None,
        actual_score: float | None = None,
        latency_ms: float | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        total_tokens: int | None = None,
        embeddings: EmbeddingArg | None = None,
        shap_values: Mapping[str, float] | None = None,
        timestamp: datetime | float | None = None,
        input: str | None = None,
        output: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        project: str | None = None,
    ) -> LogResult:
        """Log one prediction; it becomes a PREDICTION span of ``project``.

        ``project`` defaults to ``model_id``, then ``"default"``. ``embeddings`` maps a name
        to a vector, a ``(vector, data)`` pair or ``{"vector": ..., "data": ...}``.
        ``timestamp`` is an aware datetime (naive is taken as UTC) or epoch seconds.
        """
        fields = dict(locals())
        for name in ("self", "project"):
            fields.pop(name)
        record = prediction_payload(fields)
        return self.log_records([record], project or model_id or "default")

    def log_dataframe(
        self,
        df: pd.DataFrame,
        schema: Schema,
        project: str | None = None,
        model_id: str | None = None,
        batch_size: int = 5000,
    ) -> LogResult:
        """Log every row of ``df`` as a prediction, ``batch_size`` rows per request.

        Rejected records are reported by their row position in ``df``.
        """
        records = dataframe_to_records(df, schema, model_id=model_id)
        target = project or model_id or "default"
        size = max(1, min(batch_size, MAX_RECORDS_PER_REQUEST))
        accepted, rejected = 0, []
        for start in range(0, len(records), size):
            part = self.log_records(records[start : start + size], target)
            accepted += part.accepted
            rejected += [
                RejectedRecord(
                    r.index + start,
                    _RECORD_PATH.sub(f"records[{r.index + start}]", r.path),
                    r.message,
                )
                for r in part.rejected
            ]
        return LogResult(accepted, rejected)

    # -- annotations ---------------------------------------------------------------------

    def log_annotations(self, items: Sequence[JsonDict]) -> AnnotationResult:
        """Send ready ``AnnotationIn`` objects to ``POST /api/v1/annotations``."""
        inserted, ids, rejected = 0, [], []
        for start in range(0, len(items), MAX_RECORDS_PER_REQUEST):
            chunk = list(items[start : start + MAX_RECORDS_PER_REQUEST])
            body = self.request("POST", "/api/v1/annotations", json={"data": chunk}) or {}
            inserted += int(body.get("inserted", 0))
            ids += [str(i) for i in body.get("ids") or []]
            rejected += _rejections(body.get("rejected"), start)
        return AnnotationResult(inserted, ids, rejected)

    def log_evaluations(
        self, df: pd.DataFrame, eval_name: str | None = None, project: str | None = None
    ) -> AnnotationResult:
        """Log an evaluations dataframe (see `evaluations_to_annotations` for its columns)."""
        return self.log_annotations(
            evaluations_to_annotations(df, eval_name=eval_name, project=project)
        )

    def log_feedback(
        self,
        prediction_id: str,
        *,
        label: str | None = None,
        score: float | None = None,
        name: str = "feedback",
        explanation: str | None = None,
        project: str | None = None,
    ) -> AnnotationResult:
        """Attach user feedback (thumbs up/down, a rating) to a logged prediction."""
        item = annotation_payload(
            name=name,
            prediction_id=prediction_id,
            project=project,
            label=label,
            score=score,
            explanation=explanation,
        )
        return self.log_annotations([item])

    def log_actuals(
        self,
        prediction_id: str,
        *,
        label: str | None = None,
        score: float | None = None,
        explanation: str | None = None,
        project: str | None = None,
    ) -> AnnotationResult:
        """Attach late ground truth to a logged prediction (an annotation named ``actual``)."""
        return self.log_feedback(
            prediction_id,
            label=label,
            score=score,
            name="actual",
            explanation=explanation,
            project=project,
        )

    def annotate_span(
        self,
        span_id: str,
        name: str,
        *,
        label: str | None = None,
        score: float | None = None,
        explanation: str | None = None,
        annotator_kind: str = "HUMAN",
    ) -> AnnotationResult:
        """Attach one annotation to a span by its id."""
        item = annotation_payload(
            name=name,
            span_id=span_id,
            label=label,
            score=score,
            explanation=explanation,
            annotator_kind=annotator_kind,
        )
        return self.log_annotations([item])

    # -- reads ---------------------------------------------------------------------------

    def get_projects(self) -> list[JsonDict]:
        """List the projects the server knows."""
        return _items(self.request("GET", "/api/v1/projects"))

    def get_spans(self, project: str, *, limit: int = 100, **filters: Any) -> list[JsonDict]:
        """List up to ``limit`` spans of ``project``, newest first, following cursors.

        ``filters`` become query parameters: ``kind``, ``status``, ``model``, ``name``,
        ``attr`` (``"metadata.region:eu-west"``; lists repeat), ``q``, ``trace_id``,
        ``start``, ``end``, ``root_only``.
        """
        url = project_path(project, "spans")
        params = {k: v for k, v in filters.items() if v is not None}
        out: list[JsonDict] = []
        cursor: str | None = None
        while len(out) < limit:
            page_params = {**params, "limit": min(limit - len(out), _PAGE_MAX)}
            if cursor:
                page_params["cursor"] = cursor
            body = self.request("GET", url, params=page_params)
            out += _items(body)
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
                break
        return out[:limit]

    def get_spans_dataframe(
        self, project: str, *, limit: int = 100, **filters: Any
    ) -> pd.DataFrame:
        """Like `get_spans`, as a pandas DataFrame (needs pandas installed)."""
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # lazy: optional

        return pd.DataFrame(self.get_spans(project, limit=limit, **filters))

    def get_trace(self, trace_id: str) -> JsonDict:
        """One trace with its spans."""
        body = self.request("GET", f"/api/v1/traces/{quote(trace_id, safe='')}")
        return body if isinstance(body, dict) else {"data": body}

    def get_span(self, span_id: str) -> JsonDict:
        """One span by id."""
        body = self.request("GET", f"/api/v1/spans/{quote(span_id, safe='')}")
        return body if isinstance(body, dict) else {"data": body}

    def get_span_annotations(self, span_id: str) -> list[JsonDict]:
        """The annotations of one span."""
        return _items(self.request("GET", f"/api/v1/spans/{quote(span_id, safe='')}/annotations"))


def _items(body: object) -> list[JsonDict]:
    """The list in a collection answer (``{"data": [...]}`` or a bare list)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", "items", "spans", "projects", "annotations"):
            if isinstance(body.get(key), list):
                return list(body[key])
    return []
