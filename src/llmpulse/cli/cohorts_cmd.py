"""`llmpulse cohorts list|set|delete|apply`: saved cohorts, also as config-as-code YAML.

``apply -f cohorts.yaml`` reads a ``kind: CohortList`` file (validated offline first), prints
the plan (create / update / unchanged / delete with ``--prune``), then applies it;
``--dry-run`` stops after the plan and exits 3 when there are changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    JsonOpt,
    UrlOpt,
    api_errors,
    load_yaml_file,
    make_client,
)
from llmpulse.domain.specs import CohortList

cohorts_app = typer.Typer(
    name="cohorts", help="Saved cohorts: named filter expressions.", no_args_is_help=True
)
ProjectArg = Annotated[str, typer.Argument(help="Project name.")]
EXIT_CHANGES = 3


@cohorts_app.command("list")
def list_cmd(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The project's cohorts."""
    with api_errors(), make_client(url, api_key) as client:
        cohorts = client.list_cohorts(project)
    if as_json:
        typer.echo(json.dumps(cohorts, indent=2))
        return
    for c in cohorts:
        typer.echo(f"{c['name']}: {c['expression']}")
    if not cohorts:
        typer.echo("(no cohorts)")


@cohorts_app.command("set")
def set_cmd(
    project: ProjectArg,
    name: Annotated[str, typer.Argument(help="Cohort name.")],
    expression: Annotated[str, typer.Argument(help="e.g. \"tier = 'enterprise'\".")],
    description: Annotated[str, typer.Option(help="What the cohort is.")] = "",
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Create or replace one cohort."""
    with api_errors(), make_client(url, api_key) as client:
        c = client.put_cohort(project, name, expression, description)
    typer.echo(f"{c['name']}: {c['expression']}")


@cohorts_app.command("delete")
def delete_cmd(
    project: ProjectArg, name: Annotated[str, typer.Argument(help="Cohort name.")],
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Delete one cohort."""
    with api_errors(), make_client(url, api_key) as client:
        client.delete_cohort(project, name)
    typer.echo(f"deleted {name}")


def load_cohort_file(path: Path) -> dict[str, Any]:
    """Read and validate a CohortList YAML file (exit 1 with the field path on error)."""
    return load_yaml_file(path, CohortList).model_dump()


@cohorts_app.command("apply")
def apply_cmd(
    file: Annotated[Path, typer.Option("-f", "--file", help="A kind: CohortList YAML file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete cohorts not in the file.")] = False,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Make the server's cohorts match the file, printing the plan first."""
    spec = load_cohort_file(file)
    with api_errors(), make_client(url, api_key) as client:
        plan = client.plan_cohorts(spec, prune=prune)
        for label, names in (("create", plan.create), ("update", plan.update),
                             ("delete", plan.delete), ("unchanged", plan.unchanged)):  # fmt: skip
            for name in names:
                typer.echo(f"{label:9s} {spec['project']}/{name}")
        if dry_run:
            raise typer.Exit(EXIT_CHANGES if plan.has_changes else 0)
        client.apply_cohorts(spec, prune=prune)
    typer.echo("applied" if plan.has_changes else "nothing to change")
