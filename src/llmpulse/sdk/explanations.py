"""Explanations as `Client` methods (`ExplanationsMixin`, issue 13 items 3-7).

SHAP/surrogate explanations, counterfactuals, global importance and reason codes of logged
predictions; chunk attribution and what-ifs of RAG answers; the compact "why" answers;
records (search by external id, verify the hash chain); policy-triggered explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from llmpulse.sdk.query_params import project_path
from llmpulse.sdk.requester import Requester

JsonDict = dict[str, Any]
Generate = Callable[[str, list[str]], str]
Evaluate = Callable[[str, list[str], str], float]


def _q(text: str) -> str:
    return quote(text, safe="")


def _iso(t: datetime | str | None) -> str | None:
    return t.isoformat() if isinstance(t, datetime) else t


def _subject(
    trace_id: str | None, span_id: str | None, question: str | None, answer: str | None,
    chunks: Sequence[str] | None,
) -> JsonDict:  # fmt: skip
    body: JsonDict = {}
    for key, value in (("trace_id", trace_id), ("span_id", span_id), ("question", question),
                       ("answer", answer)):  # fmt: skip
        if value is not None:
            body[key] = value
    if chunks is not None:
        body["chunks"] = list(chunks)
    return body


class ExplanationsMixin(Requester):
    """Explanation methods of `Client`."""

    def explain_prediction(
        self, project: str, prediction_id: str, *, method: str = "auto", top_k: int = 4,
        external_ids: Mapping[str, str] | None = None, record: bool = True,
    ) -> JsonDict:  # fmt: skip
        """SHAP contributions (``client`` values or ``surrogate`` TreeSHAP), decision and reason
        codes of one logged prediction; ``record_id`` names the stored record."""
        body = {"method": method, "top_k": top_k, "external_ids": dict(external_ids or {}),
                "record": record}  # fmt: skip
        path = project_path(project, f"explanations/predictions/{_q(prediction_id)}")
        out: JsonDict = self.request("POST", path, json=body)
        return out

    def counterfactual(
        self, project: str, prediction_id: str, *, actionable: Sequence[str] = (),
        external_ids: Mapping[str, str] | None = None,
    ) -> JsonDict:  # fmt: skip
        """The smallest change of ``actionable`` features that flips the surrogate's decision."""
        body = {"actionable": list(actionable), "external_ids": dict(external_ids or {})}
        path = project_path(project, f"explanations/predictions/{_q(prediction_id)}/counterfactual")
        out: JsonDict = self.request("POST", path, json=body)
        return out

    def feature_importance(
        self, project: str, *, version: str | None = None, start: datetime | str | None = None,
        end: datetime | str | None = None, bucket: str | None = None, segment: str | None = None,
        method: str = "auto",
    ) -> JsonDict:  # fmt: skip
        """Global importance (mean |SHAP|) overall, per ``bucket`` (with its change) and per
        value of the ``segment`` tag."""
        params = [("method", method)]
        for key, value in (("version", version), ("start", _iso(start)), ("end", _iso(end)),
                           ("bucket", bucket), ("segment", segment)):  # fmt: skip
            if value is not None:
                params.append((key, value))
        out: JsonDict = self.request(
            "GET", project_path(project, "explanations/importance"), params=params
        )
        return out

    def get_reason_codes(self, project: str) -> JsonDict:
        """The project's reason table (``kind: ReasonCodes``)."""
        out: JsonDict = self.request("GET", project_path(project, "explanations/reason-codes"))
        return out

    def put_reason_codes(self, project: str, reasons: Sequence[Mapping[str, str]]) -> JsonDict:
        """Replace the reason table: ``[{feature, code, text, direction}]``."""
        path = project_path(project, "explanations/reason-codes")
        out: JsonDict = self.request("PUT", path, json={"reasons": [dict(r) for r in reasons]})
        return out

    def apply_reason_codes(self, spec: Mapping[str, Any]) -> JsonDict:
        """Apply a ``kind: ReasonCodes`` document (YAML loaded as a mapping)."""
        if spec.get("kind") != "ReasonCodes":
            raise ValueError("expected kind: ReasonCodes")
        return self.put_reason_codes(str(spec["project"]), list(spec.get("reasons", [])))

    def explain_rag(
        self, project: str, *, trace_id: str | None = None, span_id: str | None = None,
        question: str | None = None, answer: str | None = None,
        chunks: Sequence[str] | None = None, method: str = "auto", n_ablations: int = 32,
        external_ids: Mapping[str, str] | None = None,
    ) -> JsonDict:  # fmt: skip
        """Attribute a stored (``trace_id``/``span_id``) or inline answer to its chunks and
        sentences (``contextcite`` with the server's log-prob endpoint, ``embedding`` with its
        embeddings, or ``lexical`` offline)."""
        body = _subject(trace_id, span_id, question, answer, chunks)
        body.update(method=method, n_ablations=n_ablations, external_ids=dict(external_ids or {}))
        out: JsonDict = self.request("POST", project_path(project, "explanations/rag"), json=body)
        return out

    def rag_what_if(
        self, project: str, *, trace_id: str | None = None, span_id: str | None = None,
        question: str | None = None, answer: str | None = None,
        chunks: Sequence[str] | None = None, drop: Sequence[int] = (),
        replace: Mapping[int, str] | None = None, external_ids: Mapping[str, str] | None = None,
    ) -> JsonDict:  # fmt: skip
        """Drop/replace chunks and regenerate through the server's endpoint; recorded."""
        body = _subject(trace_id, span_id, question, answer, chunks)
        body.update(drop=list(drop), replace={str(k): v for k, v in (replace or {}).items()},
                    external_ids=dict(external_ids or {}))  # fmt: skip
        out: JsonDict = self.request(
            "POST", project_path(project, "explanations/rag/what-if"), json=body
        )
        return out

    def what_if_local(
        self, project: str, *, question: str, answer: str, chunks: Sequence[str],
        generate: Generate, evaluate: Evaluate, drop: Sequence[int] = (),
        replace: Mapping[int, str] | None = None, subject_id: str | None = None,
        external_ids: Mapping[str, str] | None = None,
    ) -> JsonDict:  # fmt: skip
        """A what-if through the caller's own ``generate(question, chunks)`` and
        ``evaluate(question, chunks, answer)``, stored as a ``rag.what_if`` record."""
        replace = dict(replace or {})
        kept = [replace.get(i, c) for i, c in enumerate(chunks) if i not in set(drop)]
        before, after = generate(question, list(chunks)), generate(question, kept)
        score_before = float(evaluate(question, list(chunks), answer))
        score_after = float(evaluate(question, kept, after))
        outputs: JsonDict = {
            "method": "rag.what_if", "dropped": sorted(set(drop)),
            "replaced": {str(k): v for k, v in sorted(replace.items())},
            "original_answer": answer, "regenerated_answer": before, "new_answer": after,
            "answer_changed": after.strip() != before.strip(),
            "evaluation_before": score_before, "evaluation_after": score_after,
            "evaluation_delta": score_after - score_before,
        }  # fmt: skip
        body = {
            "subject_kind": "span" if subject_id else "project",
            "subject_id": subject_id or project, "method": "rag.what_if",
            "inputs": {"question": question, "answer": answer, "chunks": list(chunks)},
            "outputs": outputs, "model_versions": {"generator": "client callable"},
            "external_ids": dict(external_ids or {}),
        }  # fmt: skip
        rec: JsonDict = self.request(
            "POST", project_path(project, "explanations/records"), json=body
        )
        return {"record_id": rec["record_id"], "explanation": outputs}

    def why_prediction(self, project: str, prediction_id: str) -> JsonDict:
        """The compact end-user "why" of a decision: decision and top reasons."""
        out: JsonDict = self.request(
            "GET", project_path(project, f"why/prediction/{_q(prediction_id)}")
        )
        return out

    def why_span(self, project: str, span_id: str) -> JsonDict:
        """The compact end-user "why" of an answer: supporting sources with scores."""
        out: JsonDict = self.request("GET", project_path(project, f"why/span/{_q(span_id)}"))
        return out

    def search_explanations(
        self, project: str, *, external_id: tuple[str, str] | None = None,
        subject_kind: str | None = None, subject_id: str | None = None,
        method: str | None = None, limit: int = 100,
    ) -> list[JsonDict]:  # fmt: skip
        """Explanation records, newest first; ``external_id=("case_id", "C-17")``."""
        params: list[tuple[str, str | int]] = [("limit", limit)]
        if external_id is not None:
            params.append(("external_id", f"{external_id[0]}:{external_id[1]}"))
        for key, value in (("subject_kind", subject_kind), ("subject_id", subject_id),
                           ("method", method)):  # fmt: skip
            if value is not None:
                params.append((key, value))
        body = self.request("GET", project_path(project, "explanations"), params=params)
        return list(body["data"])

    def get_explanation(self, project: str, record_id: str) -> JsonDict:
        """One explanation record with its hash-chain link."""
        out: JsonDict = self.request(
            "GET", project_path(project, f"explanations/records/{_q(record_id)}")
        )
        return out

    def verify_explanations(self, project: str) -> JsonDict:
        """Recompute the project's record chain: ``ok``, ``first_bad_record``, ``reason``."""
        out: JsonDict = self.request("GET", project_path(project, "explanations/verify"))
        return out

    def explain_triggered(
        self, project: str, policy: Mapping[str, Any] | None = None, *,
        target: str | None = None, start: datetime | str | None = None,
        end: datetime | str | None = None, limit: int = 1000, review_queue: str | None = None,
    ) -> JsonDict:  # fmt: skip
        """Explain what a triggering policy picks (all, ``sample_rate``, ``confidence_below``,
        ``workflows``; the project's stored policy when ``policy`` is None); returns counts,
        skip reasons and record ids. With ``review_queue`` (or the stored policy's), every
        explained span also goes to that review queue with its explanation attached."""
        body: JsonDict = {"limit": limit}
        if review_queue is not None:
            body["review_queue"] = review_queue
        if policy is not None:
            body["policy"] = dict(policy)
        if target is not None:
            body["target"] = target
        if start is not None:
            body["start"] = _iso(start)
        if end is not None:
            body["end"] = _iso(end)
        out: JsonDict = self.request("POST", project_path(project, "explanations/run"), json=body)
        return out

    def get_explain_policy(self, project: str) -> JsonDict:
        """The project's stored explanation policy (``kind: ExplainPolicy``)."""
        out: JsonDict = self.request("GET", project_path(project, "explanations/policy"))
        return out

    def put_explain_policy(
        self, project: str, policy: Mapping[str, Any], target: str = "predictions"
    ) -> JsonDict:
        """Store the project's explanation policy (used when ``explain_triggered`` gets none)."""
        body = {"policy": dict(policy), "target": target}
        out: JsonDict = self.request("PUT", project_path(project, "explanations/policy"), json=body)
        return out

    def apply_explain_policy(self, spec: Mapping[str, Any]) -> JsonDict:
        """Apply a ``kind: ExplainPolicy`` document (YAML loaded as a mapping)."""
        if spec.get("kind") != "ExplainPolicy":
            raise ValueError("expected kind: ExplainPolicy")
        return self.put_explain_policy(
            str(spec["project"]), dict(spec.get("policy") or {}),
            str(spec.get("target", "predictions")),
        )  # fmt: skip
