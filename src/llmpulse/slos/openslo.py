"""OpenSLO ``openslo/v1`` (a subset) to and from our `SloSpec`.

Accepted kinds: ``SLO`` (indicator inline or by ``indicatorRef``), ``SLI``, ``AlertPolicy`` and
``AlertCondition`` (inline or by reference); ``Service`` and ``DataSource`` are accepted and
ignored. Metric sources are ``type: llmpulse`` with this ``spec`` vocabulary:

- ``ratioMetric``: ``good`` / ``total`` sources with ``query`` (a cohort expression; ``*`` or
  none = every event), or ``good`` with ``sli: availability`` (status is not ERROR);
- ``thresholdMetric``: a source with ``metric`` (``latency_ms``, ``cost_usd:per_trace``,
  ``annotation.<name>.score``, ``annotation.<name>.label=<label>``) compared with the
  objective's ``op``/``value``; with ``budgetingMethod: Timeslices`` the latency ``quantile``
  (default 0.95) of each ``timeSliceWindow`` is compared instead;
- on the total (or threshold) source: ``project``, ``filter`` (scope) and ``spans``.

Alert policies choose which severities of the multiwindow table alert: a ``burnrate``
condition of ``severity: page`` turns on the page rules, ``ticket`` the ticket rules; an SLO
without alert policies raises no alerts. Export writes what import reads, so
apply → export → apply changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.slos.spec import (
    CALENDAR_MONTH,
    AvailabilitySli,
    CostSli,
    LatencyQuantileSli,
    LatencySli,
    QualitySli,
    RatioSli,
    SloSpec,
    format_duration,
    validate,
)
from llmpulse.slos.windows import MINUTE, rules_for

API_VERSION = "openslo/v1"
SOURCE = "llmpulse"
IGNORED_KINDS = frozenset({"Service", "DataSource", "AlertNotificationTarget"})


def _bad(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {message}", [FieldError(path, message)])


def _map(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(path, "must be a mapping")
    return value


def _source(metric: Any, path: str) -> dict[str, Any]:
    """The ``spec`` of a metric's llmpulse source."""
    src = _map(_map(metric, path).get("metricSource"), f"{path}.metricSource")
    kind = src.get("type", SOURCE)
    if kind != SOURCE:
        raise _bad(f"{path}.metricSource.type", f"only {SOURCE!r} metric sources can be read")
    return _map(src.get("spec"), f"{path}.metricSource.spec")


class Catalog:
    """The named SLI, AlertPolicy and AlertCondition documents of one file."""

    def __init__(self) -> None:
        self.slis: dict[str, tuple[dict[str, Any], str]] = {}
        self.policies: dict[str, tuple[dict[str, Any], str]] = {}
        self.conditions: dict[str, tuple[dict[str, Any], str]] = {}

    def add(self, doc: dict[str, Any], path: str) -> None:
        name = _map(doc.get("metadata"), f"{path}.metadata").get("name")
        if not isinstance(name, str) or not name:
            raise _bad(f"{path}.metadata.name", "required")
        table = {"SLI": self.slis, "AlertPolicy": self.policies}.get(doc["kind"], self.conditions)
        table[name] = (doc, path)


def _ref(table: dict[str, tuple[dict[str, Any], str]], name: Any, path: str) -> tuple[Any, str]:
    if name not in table:
        raise _bad(path, f"refers to {name!r}, which this file does not define")
    return table[name]


def _severities(spec: dict[str, Any], path: str, cat: Catalog) -> tuple[set[str], dict[str, str]]:
    out: set[str] = set()
    labels: dict[str, str] = {}
    for i, item in enumerate(spec.get("alertPolicies") or []):
        p = f"{path}.alertPolicies[{i}]"
        item = _map(item, p)
        if "alertPolicyRef" in item:
            item, p = _ref(cat.policies, item["alertPolicyRef"], f"{p}.alertPolicyRef")
        meta = _map(item.get("metadata"), f"{p}.metadata")
        labels.update({str(k): str(v) for k, v in _map(meta.get("labels"), p).items()})
        pspec = _map(item.get("spec"), f"{p}.spec")
        conditions = pspec.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            raise _bad(f"{p}.spec.conditions", "give one condition")
        for j, cond in enumerate(conditions):
            cp = f"{p}.spec.conditions[{j}]"
            cond = _map(cond, cp)
            if "conditionRef" in cond:
                cond, cp = _ref(cat.conditions, cond["conditionRef"], f"{cp}.conditionRef")
            cspec = _map(cond.get("spec"), f"{cp}.spec")
            kind = _map(cspec.get("condition"), f"{cp}.spec.condition").get("kind", "burnrate")
            if kind != "burnrate":
                raise _bad(f"{cp}.spec.condition.kind", "only burnrate conditions are supported")
            severity = cspec.get("severity")
            if severity not in ("page", "ticket"):
                raise _bad(f"{cp}.spec.severity", "must be page or ticket")
            out.add(severity)
    return out, labels


def _window(spec: dict[str, Any], path: str) -> Any:
    windows = spec.get("timeWindow")
    if windows is None:
        return None
    if not isinstance(windows, list) or len(windows) != 1:
        raise _bad(f"{path}.timeWindow", "exactly one time window")
    w = _map(windows[0], f"{path}.timeWindow[0]")
    if w.get("calendar") is not None or w.get("isRolling") is False:
        if w.get("duration") != "1M":
            raise _bad(f"{path}.timeWindow[0].duration", "calendar windows must be 1M")
        return CALENDAR_MONTH
    return w.get("duration")


def _objective(spec: dict[str, Any], path: str) -> tuple[dict[str, Any], Any]:
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or len(objectives) != 1:
        raise _bad(f"{path}.objectives", "exactly one objective")
    obj = _map(objectives[0], f"{path}.objectives[0]")
    if "target" in obj:
        return obj, obj["target"]
    if "targetPercent" in obj:
        return obj, Decimal(str(obj["targetPercent"])) / 100
    raise _bad(f"{path}.objectives[0].target", "give target or targetPercent")


def _threshold_sli(
    src: dict[str, Any], obj: dict[str, Any], method: str, path: str, opath: str
) -> dict[str, Any]:
    metric, op, value = src.get("metric"), obj.get("op"), obj.get("value")
    if value is None:
        raise _bad(f"{opath}.value", "required with a thresholdMetric")
    want = "gte" if isinstance(metric, str) and metric.startswith("annotation.") else "lte"
    if op != want:
        raise _bad(f"{opath}.op", f"{metric!r} takes op {want}")
    if metric == "latency_ms":
        if method == "Timeslices":
            return {"type": "latency_quantile", "threshold_ms": value,
                    "quantile": src.get("quantile", 0.95),
                    "slice": obj.get("timeSliceWindow", "5m")}  # fmt: skip
        return {"type": "latency", "threshold_ms": value}
    if metric == "cost_usd:per_trace":
        return {"type": "cost", "threshold_usd": value}
    if isinstance(metric, str) and metric.startswith("annotation."):
        name, sep, label = metric[len("annotation.") :].partition(".label=")
        if sep:
            return {"type": "quality", "annotation": name, "label": label}
        if name.endswith(".score"):
            return {"type": "quality", "annotation": name[: -len(".score")], "min_score": value}
    raise _bad(f"{path}.metricSource.spec.metric", "one of latency_ms, cost_usd:per_trace, "
               "annotation.<name>.score, annotation.<name>.label=<label>")  # fmt: skip


def _ratio_sli(ratio: dict[str, Any], path: str) -> dict[str, Any]:
    if "bad" in ratio or "raw" in ratio:
        raise _bad(f"{path}.bad", "give good and total (bad and raw are not supported)")
    good = _source(ratio.get("good"), f"{path}.good")
    if good.get("sli") == "availability":
        return {"type": "availability"}
    query = good.get("query")
    if not isinstance(query, str):
        raise _bad(f"{path}.good.metricSource.spec.query", "a cohort expression")
    total = _source(ratio.get("total"), f"{path}.total").get("query")
    valid = None if total in (None, "", "*") else total
    return {"type": "ratio", "good": query, "valid": valid}


def slo_from_openslo(doc: dict[str, Any], path: str, cat: Catalog, project: str | None) -> SloSpec:
    """One ``kind: SLO`` document as a `SloSpec` (errors name ``<path>.spec.<field>``)."""
    meta = _map(doc.get("metadata"), f"{path}.metadata")
    spec = _map(doc.get("spec"), f"{path}.spec")
    sp = f"{path}.spec"
    if "indicator" in spec:
        sli_doc, ip = _map(spec["indicator"], f"{sp}.indicator"), f"{sp}.indicator"
    elif "indicatorRef" in spec:
        sli_doc, ip = _ref(cat.slis, spec["indicatorRef"], f"{sp}.indicatorRef")
    else:
        raise _bad(f"{sp}.indicator", "give indicator or indicatorRef")
    sli_spec = _map(sli_doc.get("spec"), f"{ip}.spec")
    method = spec.get("budgetingMethod", "Occurrences")
    if method not in ("Occurrences", "Timeslices"):
        raise _bad(f"{sp}.budgetingMethod", "Occurrences or Timeslices")
    obj, target = _objective(spec, sp)
    if "thresholdMetric" in sli_spec:
        mp = f"{ip}.spec.thresholdMetric"
        src = _source(sli_spec["thresholdMetric"], mp)
        sli = _threshold_sli(src, obj, method, mp, f"{sp}.objectives[0]")
    elif "ratioMetric" in sli_spec:
        mp = f"{ip}.spec.ratioMetric"
        ratio = _map(sli_spec["ratioMetric"], mp)
        sli, src = _ratio_sli(ratio, mp), _source(ratio.get("total"), f"{mp}.total")
    else:
        raise _bad(f"{ip}.spec.ratioMetric", "give ratioMetric or thresholdMetric")
    severities, alert_labels = _severities(spec, sp, cat)
    body: dict[str, Any] = {
        "name": meta.get("name"),
        "project": src.get("project") or project,
        "description": spec.get("description", ""),
        "objective": target,
        "sli": sli,
        "alerting": {"page": "page" in severities, "ticket": "ticket" in severities,
                     "labels": alert_labels},
        "labels": {str(k): str(v) for k, v in _map(meta.get("labels"), path).items()},
    }  # fmt: skip
    for key in ("filter", "spans"):
        if src.get(key) is not None:
            body[key] = src[key]
    window = _window(spec, sp)
    if window is not None:
        body["window"] = window
    return validate(SloSpec, body, f"{path}." if path else "")


def _src(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metricSource": {"type": SOURCE, "spec": spec}}


def _scope(s: SloSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"project": s.project}
    if s.filter is not None:
        out["filter"] = s.filter
    if s.spans is not None:
        out["spans"] = s.spans
    return out


def _indicator(s: SloSpec) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The SLI spec, the objective's extra fields and the budgeting method."""
    sli = s.sli
    if isinstance(sli, AvailabilitySli | RatioSli):
        good = {"sli": "availability"} if isinstance(sli, AvailabilitySli) else {"query": sli.good}
        total = {"query": sli.valid or "*", **_scope(s)} if isinstance(sli, RatioSli) else _scope(s)
        return (
            {"ratioMetric": {"counter": False, "good": _src(good), "total": _src(total)}},
            {},
            ("Occurrences"),
        )
    if isinstance(sli, LatencySli):
        return (
            _threshold({"metric": "latency_ms"}, s),
            {"op": "lte", "value": sli.threshold_ms},
            ("Occurrences"),
        )
    if isinstance(sli, LatencyQuantileSli):
        src = {"metric": "latency_ms", "quantile": sli.quantile}
        obj = {"op": "lte", "value": sli.threshold_ms,
               "timeSliceWindow": format_duration(sli.slice)}  # fmt: skip
        return _threshold(src, s), obj, "Timeslices"
    if isinstance(sli, CostSli):
        src = {"metric": "cost_usd:per_trace"}
        return _threshold(src, s), {"op": "lte", "value": sli.threshold_usd}, "Occurrences"
    assert isinstance(sli, QualitySli)  # noqa: S101  (the union is closed)
    if sli.label is not None:
        src = {"metric": f"annotation.{sli.annotation}.label={sli.label}"}
        return _threshold(src, s), {"op": "gte", "value": 1}, "Occurrences"
    src = {"metric": f"annotation.{sli.annotation}.score"}
    return _threshold(src, s), {"op": "gte", "value": sli.min_score}, "Occurrences"


def _threshold(src: dict[str, Any], s: SloSpec) -> dict[str, Any]:
    return {"thresholdMetric": _src({**src, **_scope(s)})}


def _policies(s: SloSpec) -> list[dict[str, Any]]:
    out = []
    rules = rules_for(s, MINUTE)
    for severity in ("page", "ticket"):
        if not getattr(s.alerting, severity):
            continue
        conditions = [
            {"kind": "AlertCondition", "metadata": {"name": f"{s.name}-{r.name}".replace("_", "-")},
             "spec": {"severity": severity, "condition": {
                 "kind": "burnrate", "op": "gt", "threshold": float(r.factor),
                 "lookbackWindow": format_duration(r.long), "alertAfter": "0m"}}}
            for r in rules if r.severity == severity
        ][:1]  # fmt: skip
        meta: dict[str, Any] = {"name": f"{s.name}-{severity}"}
        if s.alerting.labels:
            meta["labels"] = dict(s.alerting.labels)
        out.append({"kind": "AlertPolicy", "metadata": meta, "spec": {
            "alertWhenBreaching": True, "alertWhenResolved": True, "alertWhenNoData": False,
            "conditions": conditions, "notificationTargets": []}})  # fmt: skip
    return out


def to_openslo(s: SloSpec) -> dict[str, Any]:
    """The SLO as one ``openslo/v1`` ``kind: SLO`` document (indicator and policies inline)."""
    indicator, obj_extra, method = _indicator(s)
    window: dict[str, Any] = (
        {"duration": "1M", "calendar": {"startTime": "2020-01-01 00:00:00", "timeZone": "UTC"},
         "isRolling": False}
        if s.window == CALENDAR_MONTH
        else {"duration": format_duration(s.window), "isRolling": True}  # type: ignore[arg-type]
    )  # fmt: skip
    meta: dict[str, Any] = {"name": s.name}
    if s.labels:
        meta["labels"] = dict(s.labels)
    spec: dict[str, Any] = {
        "service": s.project,
        "indicator": {"metadata": {"name": f"{s.name}-sli"}, "spec": indicator},
        "timeWindow": [window],
        "budgetingMethod": method,
        "objectives": [{"target": float(s.objective), **obj_extra}],
        "alertPolicies": _policies(s),
    }
    if s.description:
        spec["description"] = s.description
    return {"apiVersion": API_VERSION, "kind": "SLO", "metadata": meta, "spec": spec}
