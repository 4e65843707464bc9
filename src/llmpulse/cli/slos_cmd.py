"""`llmpulse slos list|get|report|apply|export|delete`: SLOs over the REST API.

``apply -f FILE`` reads our ``kind: SLO`` documents and OpenSLO ``openslo/v1`` documents
(validated offline first, errors naming the field), prints the plan, then applies it;
``--dry-run`` stops after the plan and exits 3 when there are changes.
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
    UrlOpt,
    api_errors,
    format_table,
    make_client,
)
from llmpulse.domain.errors import InvalidInput
from llmpulse.slos.manifests import load_yaml, parse_documents

slos_app = typer.Typer(
    name="slos", help="Service level objectives: status, reports, files.", no_args_is_help=True
)
ProjectArg = Annotated[str, typer.Argument(help="Project name.")]
NameArg = Annotated[str, typer.Argument(help="SLO name.")]
EXIT_CHANGES = 3
LIST_COLUMNS = ("name", "status", "objective", "sli", "budget_remaining", "burn_rate", "alerts")


def _row(s: dict[str, Any]) -> dict[str, Any]:
    return {**s, "alerts": ",".join(sorted({a["labels"]["severity"] for a in s["alerts"]})) or "-"}


@slos_app.command("list")
def list_cmd(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The project's SLOs, least budget remaining first."""
    with api_errors(), make_client(url, api_key) as client:
        slos = client.list_slos(project)
    if as_json:
        typer.echo(json.dumps(slos, indent=2))
    elif slos:
        typer.echo(format_table(LIST_COLUMNS, [_row(s) for s in slos]))
    else:
        typer.echo("(no SLOs)")


@slos_app.command("get")
def get_cmd(
    project: ProjectArg, name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """One SLO: status, burn rates per window, alerts firing."""
    with api_errors(), make_client(url, api_key) as client:
        s = client.get_slo(project, name)
    if as_json:
        typer.echo(json.dumps(s, indent=2))
        return
    typer.echo(format_table(LIST_COLUMNS, [_row(s)]))
    typer.echo("")
    typer.echo(format_table(("window", "burn_rate", "valid"), s["windows"]))
    for a in s["alerts"]:
        typer.echo(f"firing: {a['labels']['severity']} {a['labels']['windows']} "
                   f"since {a['starts_at']}")  # fmt: skip


@slos_app.command("report")
def report_cmd(
    project: ProjectArg, name: NameArg,
    start: Annotated[str | None, typer.Option(help="ISO instant (default: month start).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO instant (default: now).")] = None,
    period: Annotated[str, typer.Option(help="month, week or day.")] = "month",
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Compliance per period: attainment, budget used, pages, tickets, incidents."""
    wire = "csv" if fmt == "csv" else "json"
    with api_errors(), make_client(url, api_key) as client:
        body = client.slo_report(project, name, start=start, end=end, period=period, format=wire)
    if fmt == "csv":
        typer.echo(body, nl=False)
    elif fmt == "json":
        typer.echo(json.dumps(body, indent=2))
    else:
        rows = [{**p, "incidents": len(p["incidents"])} for p in body["periods"]]
        cols = ("period", "sli", "met", "budget_used", "budget_remaining", "pages", "tickets",
                "coverage", "incidents")  # fmt: skip
        typer.echo(format_table(cols, rows))


def load_slo_file(path: Path, project: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Read and validate an SLO file offline; return its project and documents (exit 1 on
    error, each problem with its field path)."""
    try:
        docs = load_yaml(path.read_text())
        specs = parse_documents(docs, project)
    except OSError as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
        raise typer.Exit(1) from None
    except InvalidInput as exc:
        for e in exc.errors or []:
            typer.echo(f"error: {path}: {e.path}: {e.message}", err=True)
        raise typer.Exit(1) from None
    projects = sorted({s.project for s in specs})
    if len(projects) > 1:
        typer.echo(f"error: {path}: SLOs of several projects ({', '.join(projects)})", err=True)
        raise typer.Exit(1)
    if not projects:
        typer.echo(f"error: {path}: no SLO in the file", err=True)
        raise typer.Exit(1)
    return projects[0], docs


@slos_app.command("apply")
def apply_cmd(
    file: Annotated[Path, typer.Option("-f", "--file", help="kind SLO or OpenSLO YAML file.")],
    project: Annotated[str | None, typer.Option(help="For SLOs that name none.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete SLOs not in the file.")] = False,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Make the project's SLOs match the file, printing the plan first."""
    target, docs = load_slo_file(file, project)
    with api_errors(), make_client(url, api_key) as client:
        plan = client.apply_slos(target, docs, prune=prune, dry_run=True)
        for label in ("create", "update", "delete", "unchanged"):
            for name in plan[label]:
                typer.echo(f"{label:9s} {target}/{name}")
        changes = bool(plan["create"] or plan["update"] or plan["delete"])
        if dry_run:
            raise typer.Exit(EXIT_CHANGES if changes else 0)
        if changes:
            client.apply_slos(target, docs, prune=prune)
    typer.echo("applied" if changes else "nothing to change")


@slos_app.command("export")
def export_cmd(
    project: ProjectArg,
    fmt: Annotated[str, typer.Option("--format", help="llmpulse or openslo.")] = "llmpulse",
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Print the project's SLOs as YAML documents (what ``apply -f`` reads)."""
    with api_errors(), make_client(url, api_key) as client:
        docs = client.export_slos(project, fmt)
    typer.echo(yaml.safe_dump_all(docs, sort_keys=False), nl=False)


@slos_app.command("delete")
def delete_cmd(
    project: ProjectArg, name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None
) -> None:
    """Delete one SLO."""
    with api_errors(), make_client(url, api_key) as client:
        client.delete_slo(project, name)
    typer.echo(f"deleted {name}")


@slos_app.command("digest")
def digest_cmd(
    project: ProjectArg,
    period: Annotated[str, typer.Option(help="day or week.")] = "day",
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The project's digest: SLO status, budget spent, incidents, worst segments, cost."""
    with api_errors(), make_client(url, api_key) as client:
        body = client.slo_digest(project, period)
    typer.echo(json.dumps(body, indent=2) if as_json else body["text"])
