"""`StructuredExplainer`: SHAP, surrogate TreeSHAP, importance, counterfactuals, reason codes.

Explanations of structured decisions (issue 13, item 3) over the predictions a project logged:
client SHAP values when the client sent them, otherwise a gradient-boosted surrogate fitted on
the logged features → predictions of the project (and version) and explained by TreeSHAP
(`llmpulse.analysis.explain.surrogate`). The surrogate is cached until new data arrives.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from llmpulse.analysis.explain.reason_codes import ReasonEntry, reason_codes
from llmpulse.analysis.explain.surrogate import (
    Surrogate,
    encode,
    fit_surrogate,
    mean_abs_importance,
)
from llmpulse.analysis.explain.tabular_counterfactual import find_counterfactual
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.explanations import ExplanationDraft, ExplanationRecord, SubjectKind
from llmpulse.domain.ids import PredictionId, ProjectName
from llmpulse.domain.reason_codes import ReasonCodes
from llmpulse.explain.prediction_rows import PredictionRow, load_rows, row_of
from llmpulse.explain.records import ExplanationRecords, inputs_hash
from llmpulse.explain.surrogate_cache import SurrogateCache
from llmpulse.query.service import QueryService
from llmpulse.store.api import StateStore, TimeRange

REASONS_KIND = "explain.reason_codes"

ALL_TIME = TimeRange()


@dataclass(frozen=True)
class SurrogateKey:
    """What a cached surrogate was fitted for."""

    project: str
    version: str | None
    positive_label: str | None
    threshold: float | None


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_method(method: str) -> None:
    if method not in ("auto", "client", "surrogate"):
        raise InvalidInput("bad method", [FieldError("method", "auto, client or surrogate")])


class StructuredExplainer:
    """Explains logged predictions; every per-prediction explanation can become a record."""

    def __init__(
        self,
        query: QueryService,
        state: StateStore,
        records: ExplanationRecords,
        surrogates: SurrogateCache,
    ) -> None:
        """Read predictions through ``query``; keep tables in ``state``; records in ``records``;
        fitted surrogates in ``surrogates``."""
        self._query = query
        self._state = state
        self._records = records
        self._surrogates = surrogates

    async def surrogate(self, key: SurrogateKey) -> Surrogate:
        """The surrogate of a project (version), fitted on its logged predictions (cached for
        a while, see `SurrogateCache`).

        Raises:
            NotFound: the project has no predictions.
            InvalidInput: too few predictions, no features or no usable target, or the
                optional extra ``llmpulse[explain]`` is not installed.
        """

        async def fit() -> Surrogate:
            rows = await load_rows(self._query, key.project, version=key.version)
            if not rows:
                raise NotFound(f"project {key.project!r} has no logged predictions")
            try:
                return await asyncio.to_thread(
                    fit_surrogate,
                    [r.features for r in rows],
                    [r.score for r in rows],
                    [r.label for r in rows],
                    positive_label=key.positive_label,
                    threshold=key.threshold,
                )
            except ImportError as exc:
                raise InvalidInput(
                    "the surrogate explainer is not installed",
                    [FieldError("method", f"install llmpulse[explain] or log shap_values ({exc})")],
                ) from None

        return await self._surrogates.get(key, fit)

    async def prediction(self, project: str, prediction_id: str) -> PredictionRow:
        """One logged prediction.

        Raises:
            NotFound: no such prediction.
        """
        span = await self._query.find_prediction(ProjectName(project), PredictionId(prediction_id))
        if span is None:
            raise NotFound(f"prediction {prediction_id!r} not found in {project!r}")
        return row_of(span)

    async def reason_table(self, project: str) -> ReasonCodes:
        """The project's reason-code table (empty when none was set)."""
        doc = await asyncio.to_thread(self._state.get_document, REASONS_KIND, project)
        if doc is None:
            return ReasonCodes(project=project)
        return ReasonCodes.model_validate_json(doc.body)

    async def put_reason_table(self, table: ReasonCodes, now: datetime) -> ReasonCodes:
        """Replace the project's reason-code table."""
        body = table.model_dump_json()
        await asyncio.to_thread(self._state.put_document, REASONS_KIND, table.project, body, now)
        return table

    async def explain(
        self,
        project: str,
        prediction_id: str,
        *,
        method: str = "auto",
        top_k: int = 4,
        external_ids: dict[str, str] | None = None,
        record: bool = True,
    ) -> tuple[dict[str, Any], ExplanationRecord | None]:
        """Contributions, decision and reason codes of one prediction (and its record).

        ``method``: ``client`` (the SHAP values the client logged), ``surrogate`` (TreeSHAP of
        the project/version surrogate) or ``auto`` (client values when there are any).

        Raises:
            InvalidInput: ``method`` unknown, or ``client`` asked for with none logged.
        """
        _check_method(method)
        row = await self.prediction(project, prediction_id)
        table = await self.reason_table(project)
        return await self.explain_row(
            project, row, table, method=method, top_k=top_k, external_ids=external_ids,
            record=record,
        )  # fmt: skip

    async def explain_row(
        self,
        project: str,
        row: PredictionRow,
        table: ReasonCodes,
        *,
        method: str = "auto",
        top_k: int = 4,
        external_ids: dict[str, str] | None = None,
        record: bool = True,
    ) -> tuple[dict[str, Any], ExplanationRecord | None]:
        """`explain` of a prediction already read, with the project's reason table already
        read (a caller explaining many predictions reads the table once)."""
        _check_method(method)
        use_client = bool(row.shap) and method in ("auto", "client")
        if method == "client" and not row.shap:
            raise InvalidInput(
                "no SHAP values were logged", [FieldError("method", "client has no values")]
            )
        out: dict[str, Any] = {
            "prediction_id": row.prediction_id,
            "model_version": row.version,
            "prediction": {"label": row.label, "score": row.score},
        }
        versions = {"model_version": row.version or ""}
        if use_client:
            contributions = dict(row.shap)
            positive = row.score >= 0.5 if row.score is not None else True
            out.update(method="shap.client", base_value=None, output=None, decision=positive)
        else:
            sur = await self.surrogate(SurrogateKey(project, row.version, None, None))
            exp = await asyncio.to_thread(sur.explain, row.features)
            contributions = exp.values
            positive = exp.output >= sur.threshold
            out.update(
                method="shap.surrogate",
                base_value=exp.expected_value,
                output=exp.output,
                decision=positive,
                threshold=sur.threshold,
                fidelity=sur.fidelity,
                target=sur.target,
                positive_label=sur.positive_label,
            )
            versions["surrogate"] = f"hgb-treeshap n={sur.n_rows} fidelity={sur.fidelity:.4f}"
        entries = [ReasonEntry(r.feature, r.code, r.text, r.direction) for r in table.reasons]
        reasons = reason_codes(contributions, entries, toward_positive=positive, top_k=top_k)
        out["contributions"] = [
            {"feature": f, "value": _json_value(row.features.get(f)), "contribution": v}
            for f, v in sorted(contributions.items(), key=lambda fv: (-abs(fv[1]), fv[0]))
        ]
        out["reasons"] = [
            {"feature": r.feature, "code": r.code, "text": r.text, "contribution": r.contribution}
            for r in reasons
        ]
        stored = None
        if record:
            draft = ExplanationDraft(
                project=project,
                subject_kind=SubjectKind.PREDICTION,
                subject_id=row.prediction_id,
                method=str(out["method"]),
                inputs_hash=inputs_hash(
                    {
                        "features": {k: _json_value(v) for k, v in row.features.items()},
                        "prediction": out["prediction"],
                        "version": row.version,
                    }
                ),
                outputs=out,
                model_versions=versions,
                external_ids=external_ids or {},
            )
            stored = await self._records.add(draft)
        return out, stored

    async def counterfactual(
        self,
        project: str,
        prediction_id: str,
        *,
        actionable: Sequence[str] | None = None,
        external_ids: dict[str, str] | None = None,
        record: bool = True,
    ) -> tuple[dict[str, Any], ExplanationRecord | None]:
        """The smallest change of actionable features that flips the surrogate's decision
        (stored as a record unless ``record`` is false).

        Raises:
            InvalidInput: an actionable feature the surrogate does not know.
        """
        row = await self.prediction(project, prediction_id)
        sur = await self.surrogate(SurrogateKey(project, row.version, None, None))
        names = sur.features
        wanted = list(actionable) if actionable else names
        unknown = [f for f in wanted if f not in names]
        if unknown:
            raise InvalidInput(
                "unknown feature", [FieldError("actionable", f"{unknown} not in {names}")]
            )
        rows = await load_rows(self._query, project, version=row.version)
        data = encode([r.features for r in rows], sur.codecs)
        x = encode([row.features], sur.codecs)[0]
        shap_row = sur.shap_matrix(x[None, :])[0]
        priority = [int(j) for j in np.argsort(-np.abs(shap_row))]
        cf = await asyncio.to_thread(
            find_counterfactual,
            x,
            data,
            sur.decide,
            categorical=[not c.numeric for c in sur.codecs],
            actionable=[names.index(f) for f in wanted],
            priority=priority,
        )
        out: dict[str, Any] = {
            "prediction_id": row.prediction_id,
            "method": "counterfactual.surrogate",
            "actionable": wanted,
            "found": cf is not None,
        }
        if cf is not None:
            changed = x.copy()
            for c in cf.changes:
                changed[c.column] = c.new
            out.update(
                original_decision=cf.original,
                new_decision=bool(sur.decide(changed[None, :])[0]),
                original_output=float(sur.raw(x[None, :])[0]),
                new_output=float(sur.raw(changed[None, :])[0]),
                distance=cf.distance,
                evaluated=cf.evaluated,
                changes=[
                    {
                        "feature": names[c.column],
                        "from": _json_value(sur.codecs[c.column].decode(c.old)),
                        "to": _json_value(sur.codecs[c.column].decode(c.new)),
                    }
                    for c in cf.changes
                ],
            )
        if not record:
            return out, None
        draft = ExplanationDraft(
            project=project,
            subject_kind=SubjectKind.PREDICTION,
            subject_id=row.prediction_id,
            method="counterfactual.surrogate",
            inputs_hash=inputs_hash(
                {
                    "features": {k: _json_value(v) for k, v in row.features.items()},
                    "actionable": wanted,
                    "version": row.version,
                }
            ),
            outputs=out,
            model_versions={"model_version": row.version or ""},
            external_ids=external_ids or {},
        )
        return out, await self._records.add(draft)

    async def importance(
        self,
        project: str,
        *,
        version: str | None = None,
        time: TimeRange = ALL_TIME,
        bucket: timedelta | None = None,
        segment: str | None = None,
        method: str = "auto",
    ) -> dict[str, Any]:
        """Global importance (mean |SHAP|) overall, per time bucket and per segment value.

        ``segment`` is a tag (metadata key) of the predictions; ``bucket`` splits the window
        into aligned buckets, and ``change`` compares the first bucket with the last.
        """
        rows = await load_rows(self._query, project, version=version, time=time)
        if not rows:
            raise NotFound(f"project {project!r} has no logged predictions in that window")
        use_client = method == "client" or (method == "auto" and all(r.shap for r in rows))
        if use_client:
            shap_rows = [dict(r.shap) for r in rows]
            used = "shap.client"
        else:
            sur = await self.surrogate(SurrogateKey(project, version, None, None))
            matrix = await asyncio.to_thread(
                sur.shap_matrix, encode([r.features for r in rows], sur.codecs)
            )
            shap_rows = [dict(zip(sur.features, map(float, m), strict=True)) for m in matrix]
            used = "shap.surrogate"
        out: dict[str, Any] = {
            "project": project,
            "version": version,
            "method": used,
            "rows": len(rows),
            "overall": mean_abs_importance(shap_rows),
        }
        if segment:
            groups: dict[str, list[dict[str, float]]] = defaultdict(list)
            for r, s in zip(rows, shap_rows, strict=True):
                groups[str(r.tags.get(segment, ""))].append(s)
            out["segments"] = {
                k: {"rows": len(v), "importance": mean_abs_importance(v)}
                for k, v in sorted(groups.items())
            }
        if bucket:
            out["buckets"] = _buckets(rows, shap_rows, bucket)
            if len(out["buckets"]) >= 2:
                out["change"] = _change(out["buckets"][0], out["buckets"][-1])
        return out


def _buckets(
    rows: Sequence[PredictionRow], shap_rows: Sequence[dict[str, float]], width: timedelta
) -> list[dict[str, Any]]:
    step = width.total_seconds()
    groups: dict[float, list[dict[str, float]]] = defaultdict(list)
    for r, s in zip(rows, shap_rows, strict=True):
        groups[math.floor(r.time.timestamp() / step) * step].append(s)
    out = []
    for start in sorted(groups):
        t = datetime.fromtimestamp(start, tz=rows[0].time.tzinfo)
        out.append(
            {"start": t.isoformat(), "rows": len(groups[start]),
             "importance": mean_abs_importance(groups[start])}
        )  # fmt: skip
    return out


def _change(first: dict[str, Any], last: dict[str, Any]) -> list[dict[str, Any]]:
    before: dict[str, float] = first["importance"]
    after: dict[str, float] = last["importance"]
    rank_b = {f: i + 1 for i, f in enumerate(before)}
    rank_a = {f: i + 1 for i, f in enumerate(after)}
    names = sorted(set(before) | set(after), key=lambda f: -abs(after.get(f, 0) - before.get(f, 0)))
    return [
        {
            "feature": f,
            "before": before.get(f, 0.0),
            "after": after.get(f, 0.0),
            "delta": after.get(f, 0.0) - before.get(f, 0.0),
            "rank_before": rank_b.get(f),
            "rank_after": rank_a.get(f),
        }
        for f in names
    ]
