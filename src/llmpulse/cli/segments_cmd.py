"""`llmpulse segments compare|discover|fairness|versions`: segment analyses of a project.

They talk to the REST API through the SDK client (``--url``, env ``LLMPULSE_URL``) and print
a plain table, or the server's JSON with ``--json``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    AttrOpt,
    EndOpt,
    JsonOpt,
    KindOpt,
    ModelOpt,
    ProjectArg,
    SinceOpt,
    StartOpt,
    StatusOpt,
    UrlOpt,
    api_errors,
    fetch_and_emit,
    format_table,
    make_client,
    span_filters,
)
from llmpulse.sdk.frames import comparison_rows, fairness_rows, slice_rows

segments_app = typer.Typer(
    name="segments",
    help="Segment comparison, worst-slice discovery, fairness and version comparison.",
    no_args_is_help=True,
)

MetricOpt = Annotated[
    str, typer.Option("--metric", "-m", help="One metric, field:agg (e.g. error:rate).")
]
KeyOpt = Annotated[str, typer.Option("--key", "-k", help="Attribute to slice by.")]
KeysOpt = Annotated[list[str], typer.Option("--key", "-k", help="Candidate key (repeatable).")]
TopOpt = Annotated[int, typer.Option("--top", "-n", help="How many slices.")]
DirectionOpt = Annotated[
    str | None,
    typer.Option(help="higher_is_worse or lower_is_worse (default: the metric's own)."),
]
UnitOpt = Annotated[
    str | None,
    typer.Option("--unit", help="Unit of analysis: trace (default), session, user or span."),
]
MinSupportOpt = Annotated[
    int | None, typer.Option("--min-support", help="Smallest group that is tested.")
]

SLICE_FOOTER = ("metric", "kind", "total_n", "unit", "total_units", "direction", "value_unit",
                "truncated")  # fmt: skip
SEGMENT_COLUMNS = ("rank", "slice", "n", "share", "value", "rest_value", "diff", "ci_low",
                   "ci_high", "p_adjusted", "significant", "worse", "test")  # fmt: skip
DISCOVER_COLUMNS = ("rank", "slice", "n", "share", "value", "rest_value", "diff", "p_adjusted",
                    "impact", "explained_share", "test")  # fmt: skip
FAIRNESS_COLUMNS = ("group", "n", "selected", "selection_rate", "favourable_rate",
                    "impact_ratio", "ratio_ci_low", "ratio_ci_high", "four_fifths",
                    "suppressed", "most_favoured")  # fmt: skip
VERSION_COLUMNS = ("name", "verdict", "baseline_value", "candidate_value", "diff", "ci_low",
                   "ci_high", "p_value", "baseline_n", "candidate_n", "guard_rail",
                   "test")  # fmt: skip


@segments_app.command("compare")
def compare(
    project: ProjectArg, metric: MetricOpt, key: KeyOpt,
    direction: DirectionOpt = None, min_support: MinSupportOpt = None, unit: UnitOpt = None,
    since: SinceOpt = None, start: StartOpt = None, end: EndOpt = None, attr: AttrOpt = None,
    kind: KindOpt = None, model: ModelOpt = None, status: StatusOpt = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Each value of KEY against the rest of the traffic on one metric."""
    filters = span_filters(since, start, end, attr, kind, model, status)
    fetch_and_emit(
        url, api_key,
        lambda client: client.get_segments_raw(
            project, metric, key, direction=direction, min_support=min_support, unit=unit,
            **filters,
        ),
        slice_rows, as_json=as_json, columns=SEGMENT_COLUMNS, footer=SLICE_FOOTER,
    )  # fmt: skip


@segments_app.command("discover")
def discover(
    project: ProjectArg, metric: MetricOpt, key: KeysOpt, top: TopOpt = 20,
    direction: DirectionOpt = None, min_support: MinSupportOpt = None, unit: UnitOpt = None,
    since: SinceOpt = None, start: StartOpt = None, end: EndOpt = None, attr: AttrOpt = None,
    kind: KindOpt = None, model: ModelOpt = None, status: StatusOpt = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The worst one- and two-key slices on one metric, worst first."""
    filters = span_filters(since, start, end, attr, kind, model, status)
    fetch_and_emit(
        url, api_key,
        lambda client: client.discover_slices_raw(
            project, metric, key, k=top, direction=direction, min_support=min_support,
            unit=unit, **filters,
        ),
        slice_rows, as_json=as_json, columns=DISCOVER_COLUMNS, footer=SLICE_FOOTER,
    )  # fmt: skip


@segments_app.command("fairness")
def fairness(
    project: ProjectArg, metric: MetricOpt, key: KeyOpt,
    csv: Annotated[bool, typer.Option("--csv", help="Print the server's CSV report.")] = False,
    threshold: Annotated[
        float | None, typer.Option(help="Impact-ratio threshold (default 0.8).")
    ] = None,
    min_support: MinSupportOpt = None, unit: UnitOpt = None,
    since: SinceOpt = None, start: StartOpt = None, end: EndOpt = None, attr: AttrOpt = None,
    kind: KindOpt = None, model: ModelOpt = None, status: StatusOpt = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Parity of a rate across the values of KEY (four-fifths rule on the favourable outcome)."""
    filters = span_filters(since, start, end, attr, kind, model, status)
    if csv:
        with api_errors(), make_client(url, api_key) as client:
            text = client.fairness_csv(
                project, metric, key, min_support=min_support, threshold=threshold, unit=unit,
                **filters,
            )  # fmt: skip
        typer.echo(text, nl=False)
        return
    fetch_and_emit(
        url, api_key,
        lambda client: client.fairness_raw(
            project, metric, key, min_support=min_support, threshold=threshold, unit=unit,
            **filters,
        ),
        fairness_rows, as_json=as_json, columns=FAIRNESS_COLUMNS,
        footer=("parity_difference", "parity_ratio", "most_favoured", "threshold"),
    )  # fmt: skip


@segments_app.command("versions")
def versions(
    project: ProjectArg,
    baseline: Annotated[str, typer.Option(help="Value of KEY in production (e.g. v1).")],
    candidate: Annotated[str, typer.Option(help="Value of KEY to judge (e.g. v2).")],
    key: Annotated[str, typer.Option("--key", help="Attribute that tells versions apart.")] = (
        "version"
    ),
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Metric to compare (repeatable).")
    ] = None,
    guard_rail: Annotated[
        list[str] | None, typer.Option("--guard-rail", help="Metric that can hold (repeatable).")
    ] = None,
    min_support: MinSupportOpt = None, unit: UnitOpt = None,
    overlap: Annotated[
        bool, typer.Option(help="Compare only the time both versions were live.")
    ] = True,
    since: SinceOpt = None, start: StartOpt = None, end: EndOpt = None, attr: AttrOpt = None,
    kind: KindOpt = None, model: ModelOpt = None, status: StatusOpt = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Candidate against baseline, a verdict per metric and a promote/hold signal."""
    filters = span_filters(since, start, end, attr, kind, model, status)
    fetch_and_emit(
        url, api_key,
        lambda client: client.compare_versions_raw(
            project, baseline, candidate, key=key, metrics=metric, guard_rails=guard_rail,
            min_support=min_support, unit=unit, overlap=overlap, **filters,
        ),
        comparison_rows, as_json=as_json, columns=VERSION_COLUMNS,
        footer=("signal", "unit", "window_start", "window_end"),
    )  # fmt: skip


@segments_app.command("changes")
def changes(
    project: ProjectArg, metric: MetricOpt,
    key: KeysOpt,
    baseline_start: Annotated[str, typer.Option(help="Start of the baseline window (ISO).")],
    baseline_end: Annotated[str, typer.Option(help="End of the baseline window (ISO).")],
    top: TopOpt = 20,
    start: StartOpt = None, end: EndOpt = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Span kind filter.")] = None,
    unit: UnitOpt = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Slices whose metric got worse from the baseline window to the current one."""
    with api_errors(), make_client(url, api_key) as client:
        body = client.segment_changes_raw(
            project, metric, key, baseline_start=baseline_start, baseline_end=baseline_end,
            start=start, end=end, k=top, kind=kind, unit=unit,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    rows = [
        {"rank": r["rank"], "status": r["status"],
         "slice": ", ".join(f"{k}={v}" for k, v in r["keys"].items()) or "(all segments)",
         "n_baseline": r["n_baseline"], "n_current": r["n_current"],
         "baseline": r["baseline_value"], "current": r["current_value"],
         "impact": r["impact"], "p_adjusted": r["p_adjusted"],
         "explained_by": _under(r["explained_by"])}
        for r in body["data"]
    ]  # fmt: skip
    columns = ("rank", "status", "slice", "n_baseline", "n_current", "baseline", "current",
               "impact", "p_adjusted", "explained_by")  # fmt: skip
    typer.echo(format_table(columns, rows) if rows else "(no rows)")


def _under(explained_by: dict[str, str] | None) -> str:
    """The finding a slice is folded under, as text."""
    if explained_by is None:
        return ""
    return ", ".join(f"{k}={v}" for k, v in explained_by.items()) or "(all segments)"
