"""`llmpulse metrics query|unpriced` and `llmpulse prices show|set|clear`.

Both talk to the REST API through the SDK client (``--url``, env ``LLMPULSE_URL``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from llmpulse.cli.output import (
    DEFAULT_URL,
    EXIT_ERROR,
    ApiKeyOpt,
    AttrOpt,
    EndOpt,
    JsonOpt,
    ModelOpt,
    ProjectArg,
    SinceOpt,
    StartOpt,
    StatusOpt,
    UrlOpt,
    api_errors,
    emit,
    fetch_and_emit,
    make_client,
    span_filters,
)
from llmpulse.sdk.frames import Table, metric_rows, price_rows, unpriced_rows

metrics_app = typer.Typer(
    name="metrics", help="Metric series and aggregates of a project.", no_args_is_help=True
)
prices_app = typer.Typer(
    name="prices", help="The model price table: show, override, clear.", no_args_is_help=True
)


@metrics_app.command("query")
def query(
    project: ProjectArg,
    metric: Annotated[
        list[str],
        typer.Option("--metric", "-m", help="field:agg, e.g. latency_ms:p95 (repeatable)."),
    ],
    bucket: Annotated[
        str | None, typer.Option(help="Bucket width (5m, 1h, 1d); omit for one aggregate.")
    ] = None,
    group_by: Annotated[
        list[str] | None, typer.Option("--group-by", "-g", help="Group key (at most two).")
    ] = None,
    since: SinceOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    attr: AttrOpt = None,
    kind: Annotated[list[str] | None, typer.Option(help="Span kind filter (LLM, …).")] = None,
    model: ModelOpt = None,
    status: StatusOpt = None,
    max_groups: Annotated[int | None, typer.Option(help="Most groups returned.")] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute metrics over a project's spans, per bucket and group."""
    filters = span_filters(since, start, end, attr, kind, model, status)
    with api_errors(), make_client(url, api_key) as client:
        body = client.get_metrics_raw(
            project, metric, bucket=bucket, group_by=group_by or (), max_groups=max_groups,
            **filters,
        )  # fmt: skip
    table = metric_rows(body)
    columns = [c for c in table.columns if not c.startswith("support.")]
    if table.attrs.get("bucket_s") is None:
        columns.remove("bucket")
    emit(body, table, as_json=as_json, columns=columns)


@metrics_app.command("unpriced")
def unpriced(
    project: ProjectArg,
    url: UrlOpt = DEFAULT_URL,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Models whose spans carry tokens but have no price (so no cost)."""
    fetch_and_emit(
        url,
        api_key,
        lambda client: client.unpriced_models_raw(project),
        unpriced_rows,
        as_json=as_json,
    )


@prices_app.command("show")
def show(
    layer: Annotated[
        str | None, typer.Option(help="Only this layer: shipped, file or overrides.")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The price tables in force, lowest precedence first (shipped, file, overrides)."""
    fetch_and_emit(
        url, api_key, lambda client: client.get_prices(),
        lambda body: only_layer(price_rows(body), layer), as_json=as_json,
    )  # fmt: skip


def only_layer(table: Table, layer: str | None) -> Table:
    """The price rows of one layer (all of them for None)."""
    if layer is None:
        return table
    return replace(table, rows=[r for r in table.rows if r["layer"] == layer])


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        typer.echo(f"error: cannot read {path}: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None


@prices_app.command("set")
def set_prices(
    file: Annotated[Path, typer.Option("--file", "-f", help="YAML PriceTable (kind: PriceTable).")],
    url: UrlOpt = DEFAULT_URL,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the server's price overrides with a YAML PriceTable (new spans use them)."""
    table = _load_yaml(file)
    if not isinstance(table, dict):
        typer.echo(f"error: {file} does not hold a PriceTable mapping", err=True)
        raise typer.Exit(EXIT_ERROR)
    fetch_and_emit(
        url, api_key, lambda client: client.set_price_overrides(table),
        lambda body: only_layer(price_rows(body), "overrides"), as_json=as_json,
    )  # fmt: skip


@prices_app.command("clear")
def clear(
    url: UrlOpt = DEFAULT_URL,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drop the server's price overrides (the shipped and file tables stay)."""
    with api_errors(), make_client(url, api_key) as client:
        body = client.clear_price_overrides()
    if as_json:
        emit(body, price_rows(body), as_json=True)
    else:
        typer.echo("price overrides cleared")
