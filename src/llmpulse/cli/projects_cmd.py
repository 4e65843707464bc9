"""`llmpulse projects annotations|retention|delete`: a project's settings and lifecycle.

``annotations PROJECT`` prints the project's annotation names and labels; ``-f FILE`` applies
a ``kind: AnnotationConfig`` YAML file first (validated offline, see
``docs/reference/file-formats.md``). ``retention PROJECT`` prints the retention and its last
run; ``--days N`` (or ``--keep-all``) sets it. ``delete PROJECT --yes`` deletes the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import BaseModel, ConfigDict, Field

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    JsonOpt,
    UrlOpt,
    api_errors,
    load_yaml_file,
    make_client,
)

projects_app = typer.Typer(
    name="projects", help="A project's annotation names, retention and deletion.",
    no_args_is_help=True,
)  # fmt: skip
ProjectArg = Annotated[str, typer.Argument(help="Project name.")]


class AnnotationConfigFile(BaseModel):
    """A ``kind: AnnotationConfig`` file: annotation names, each with its allowed labels."""

    model_config = ConfigDict(extra="forbid")

    api_version: Literal["llmpulse/v1"]
    kind: Literal["AnnotationConfig"]
    project: str = Field(min_length=1, max_length=256)
    annotations: dict[str, list[str]]


@projects_app.command("annotations")
def annotations_cmd(
    project: ProjectArg,
    file: Annotated[
        Path | None, typer.Option("-f", "--file", help="A kind: AnnotationConfig file to apply.")
    ] = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Print (after applying ``-f FILE``) the project's annotation names and labels."""
    spec = load_yaml_file(file, AnnotationConfigFile) if file is not None else None
    if spec is not None and spec.project != project:
        typer.echo(f"error: {file}: project: the file is for {spec.project!r}", err=True)
        raise typer.Exit(1)
    with api_errors(), make_client(url, api_key) as client:
        if spec is not None:
            config = client.set_annotation_config(project, spec.annotations)
        else:
            config = client.annotation_config(project)
    if as_json:
        typer.echo(json.dumps(config, indent=2))
        return
    for name, labels in config.items():
        typer.echo(f"{name}: {'|'.join(labels)}")
    if not config:
        typer.echo("(any annotation name and label)")


@projects_app.command("retention")
def retention_cmd(
    project: ProjectArg,
    days: Annotated[int | None, typer.Option(help="Keep this many days of spans.")] = None,
    keep_all: Annotated[bool, typer.Option("--keep-all", help="Keep every span.")] = False,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Print (after setting ``--days``/``--keep-all``) the retention and its last run."""
    with api_errors(), make_client(url, api_key) as client:
        if days is not None or keep_all:
            body = client.set_retention(project, None if keep_all else days)
        else:
            body = client.retention(project)
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    kept = f"{body['days']} days" if body["days"] else "forever"
    last = body["last_run"]
    ran = f"last run {last['ran_at']}: dropped {last['spans_dropped']} spans" if last else "not run"
    typer.echo(f"{project}: spans kept {kept}; {ran}")


@projects_app.command("delete")
def delete_cmd(
    project: ProjectArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete everything of it.")] = False,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Delete a project with all its spans, annotations, cohorts and settings."""
    if not yes:
        typer.echo(f"error: deleting {project} cannot be undone; add --yes to confirm", err=True)
        raise typer.Exit(2)
    with api_errors(), make_client(url, api_key) as client:
        n = client.delete_project(project)
    typer.echo(f"deleted {project} ({n} spans)")
