"""`llmpulse alerts list` and `llmpulse monitors backtest`: the monitor runtime from the CLI.

`backtest_cmd` is registered on the ``monitors`` command group (`cli.monitors_cmd`) by `main`.

``monitors backtest -f monitor.yaml --start … --end … --json`` prints a JSON array, one object
per alert the monitor would have fired: ``start``, ``end`` (null if still firing), ``labels``,
``value``, ``baseline``, ``bounds`` (issue 10, item 6). The project is the manifest's
``metadata.project``. Both talk to the server through the SDK (``--url``, ``--api-key``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    JsonOpt,
    ProjectArg,
    UrlOpt,
    api_errors,
    bad_parameter,
    echo_items,
    format_value,
    make_client,
)

alerts_app = typer.Typer(name="alerts", help="Alert series and their states.", no_args_is_help=True)


@alerts_app.command("list")
def list_cmd(
    project: ProjectArg,
    status: Annotated[str | None, typer.Option(help="Only series in this status.")] = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Every alert series of the project's monitors, with its status and last value."""
    with api_errors(), make_client(url, api_key) as client:
        rows = client.list_alerts(project, status)
    echo_items(rows, _series_line, as_json=as_json, empty="(no alert series)")


def _series_line(r: dict[str, Any]) -> str:
    seg = ", ".join(f"{k}={v}" for k, v in r["labels"].items() if k.startswith("metadata."))
    return (
        f"{r['status']:<9} {r['monitor']}{' [' + seg + ']' if seg else ''}  "
        f"value={format_value(r['value'])} baseline={format_value(r['baseline'])} "
        f"since={r['since'] or '-'}"
    )


def _manifest(path: Path) -> dict[str, Any]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except (OSError, yaml.YAMLError) as err:
        bad_parameter(f"cannot read {path}: {err}", "-f")
    if len(docs) != 1 or not isinstance(docs[0], dict):
        bad_parameter("the file must hold exactly one kind: Monitor manifest", "-f")
    project = (docs[0].get("metadata") or {}).get("project")
    if not isinstance(project, str) or not project:
        bad_parameter("the manifest needs metadata.project", "-f")
    return dict(docs[0])


def backtest_cmd(
    file: Annotated[Path, typer.Option("-f", "--file", help="A kind: Monitor YAML file.")],
    start: Annotated[str, typer.Option(help="First evaluation, ISO 8601 (UTC if no offset).")],
    end: Annotated[str, typer.Option(help="Last evaluation, ISO 8601.")],
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Run a monitor over history and list the alerts it would have fired."""
    manifest = _manifest(file)
    project = str(manifest["metadata"]["project"])
    with api_errors(), make_client(url, api_key) as client:
        result = client.backtest_monitor(project, manifest, start, end)
    alerts = result["alerts"]
    if as_json:
        typer.echo(json.dumps(alerts, indent=2))
        return
    for a in alerts:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(a["labels"].items()))
        lo, hi = a["bounds"]
        typer.echo(
            f"{a['start']} → {a['end'] or 'still firing'}  value={format_value(a['value'])} "
            f"baseline={format_value(a['baseline'])} bounds=[{format_value(lo)}, "
            f"{format_value(hi)}]  {labels}"
        )
    typer.echo(f"{len(alerts)} alert(s) would have fired")
