"""`llmpulse apply -f FILE [--dry-run] [--prune]` and `llmpulse export [--project P] [-o FILE]`.

``apply`` reads a multi-document YAML file of ``Monitor``, ``AlertRoute``, ``Receiver`` and
``Silence`` manifests, validates it offline (each error as ``doc N: field: message``, N
counting documents from 1), asks the server for the plan and prints it as a diff, then
applies it through ``POST /api/v1/apply``. ``--dry-run`` stops after the plan and exits 3 when
there are changes. ``export`` writes the stored objects back as YAML, so applying an export
changes nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from llmpulse.cli.output import ApiKeyOpt, UrlOpt, api_errors, make_client
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.sdk.errors import LlmpulseApiError

EXIT_CHANGES = 3
_DOC_PATH = re.compile(r"^documents\[(\d+)\]\.?(.*)$")
_MARKS = {"create": "+", "update": "~", "delete": "-", "unchanged": "="}


def doc_error(path: str, message: str) -> str:
    """``doc 2: spec.window: message`` for ``documents[1].spec.window`` (documents from 1)."""
    m = _DOC_PATH.match(path)
    if m is None:
        return f"{path}: {message}"
    where = f"doc {int(m.group(1)) + 1}"
    return f"{where}: {m.group(2)}: {message}" if m.group(2) else f"{where}: {message}"


def _fail(source: str, errors: list[FieldError] | list[Any], detail: str) -> None:
    for e in errors or [FieldError("", detail)]:
        typer.echo(f"error: {source}: {doc_error(e.path, e.message)}", err=True)
    raise typer.Exit(1)


def read_manifests(path: Path, project: str | None = None) -> list[Any]:
    """Read and validate a manifest file offline (exit 1 naming each bad document and field)."""
    # Imported here: validation pulls in the detector registry, which `--help` does not need.
    from llmpulse.config.bundle import load_documents, parse_documents

    try:
        docs = load_documents(path.read_text())
        parse_documents(docs, project)
    except OSError as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
        raise typer.Exit(1) from None
    except InvalidInput as exc:
        _fail(str(path), exc.errors, exc.detail)
    return docs


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    return value if isinstance(value, str) else json.dumps(value)


def plan_lines(plan: dict[str, Any], *, verbose: bool = False) -> list[str]:
    """The plan as a diff: ``+ create``, ``~ update`` with changed fields, ``- delete``."""
    lines = []
    for c in plan["changes"]:
        if c["action"] == "unchanged" and not verbose:
            continue
        where = f"{c['project']}/{c['name']}" if c["project"] else c["name"]
        lines.append(f"{_MARKS[c['action']]} {c['action']} {c['kind']} {where}")
        lines += [
            f"    {f['path']}: {_show(f['before'])} -> {_show(f['after'])}" for f in c["fields"]
        ]
    n = plan["counts"]
    lines.append(
        f"plan: {n['create']} to create, {n['update']} to update, {n['delete']} to delete, "
        f"{n['unchanged']} unchanged"
    )
    return lines


def apply(
    file: Annotated[Path, typer.Option("-f", "--file", help="A multi-document YAML file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete objects of the file's kinds it leaves out.")
    ] = False,
    verbose: Annotated[bool, typer.Option("-v", help="List unchanged objects too.")] = False,
    project: Annotated[
        str | None, typer.Option("--project", help="Project of SLOs that name none (OpenSLO).")
    ] = None,
    url: UrlOpt = "http://127.0.0.1:7600", api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Make the server's monitors, SLOs, routes, receivers and silences match a file."""
    docs = read_manifests(file, project)
    with api_errors(), make_client(url, api_key) as client:
        try:
            plan = client.apply(docs, prune=prune, dry_run=True, project=project)
        except LlmpulseApiError as exc:
            _fail(str(file), exc.errors, exc.detail)
        for line in plan_lines(plan, verbose=verbose):
            typer.echo(line)
        if dry_run:
            raise typer.Exit(EXIT_CHANGES if plan["has_changes"] else 0)
        if plan["has_changes"]:
            client.apply(docs, prune=prune, project=project)
    typer.echo("applied" if plan["has_changes"] else "nothing to change")


def export(
    project: Annotated[str | None, typer.Option("--project", help="One project's objects.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    url: UrlOpt = "http://127.0.0.1:7600", api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Write the stored configuration as multi-document YAML (secrets as env references)."""
    with api_errors(), make_client(url, api_key) as client:
        docs = client.export(project)
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True) if docs else ""
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {len(docs)} objects to {output}")
