"""`llmpulse keys create|list|revoke`: API keys, kept hashed in the data directory.

Like ``serve`` and ``demo`` these commands open the data directory's state database
(``--data-dir``), not the REST API, so the first admin key can be made before any key
exists; they work while the server runs (SQLite takes both), and the server sees a new or
revoked key within two seconds. The token is printed once, at creation: store it then.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from llmpulse.cli.output import DataDirOpt
from llmpulse.clock import SystemClock
from llmpulse.domain.errors import LlmpulseError
from llmpulse.domain.keys import ApiKeyRecord, parse_scopes
from llmpulse.governance.keys import KeyService
from llmpulse.server.settings import default_data_dir
from llmpulse.store.datadir import DataDir
from llmpulse.store.state.sql import SqlStateStore

keys_app = typer.Typer(
    name="keys", help="API keys (scopes ingest, read, admin).", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def key_service(data_dir: Path | None) -> Iterator[KeyService]:
    """The key service over the data directory's state database; errors become messages."""
    layout = DataDir(data_dir or default_data_dir())
    state: SqlStateStore | None = None
    try:
        layout.prepare()
        state = SqlStateStore(layout.state_url)
        yield KeyService(state, SystemClock())
    except LlmpulseError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        if state is not None:
            state.close()


def key_json(r: ApiKeyRecord) -> dict[str, object]:
    """One key as JSON (never the token or its hash)."""
    return {
        "key_id": r.key_id,
        "name": r.name,
        "scopes": sorted(s.value for s in r.scopes),
        "project": r.project,
        "created_at": r.created_at.isoformat(),
        "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
    }


@keys_app.command("create")
def create_cmd(
    scope: Annotated[
        list[str], typer.Option("--scope", help="ingest, read or admin (repeat or comma-list).")
    ],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "key",
    project: Annotated[
        str | None, typer.Option(help="Limit the key to one project (default: all).")
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print its token (shown once; only a hash is stored)."""
    try:
        scopes = parse_scopes(scope)
    except ValueError as exc:
        typer.echo(f"error: --scope: {exc}", err=True)
        raise typer.Exit(2) from None
    with key_service(data_dir) as keys:
        created = keys.create(name, scopes, project)
    if as_json:
        typer.echo(json.dumps({**key_json(created.record), "token": created.token}, indent=2))
        return
    where = f"project {project}" if project else "all projects"
    typer.echo(f"created key {created.record.key_id} ({','.join(sorted(scopes))}; {where})")
    typer.echo(created.token)


@keys_app.command("list")
def list_cmd(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Every key (id, name, scopes, project, created, revoked); never the tokens."""
    with key_service(data_dir) as keys:
        records = keys.list()
    if as_json:
        typer.echo(json.dumps([key_json(r) for r in records], indent=2))
        return
    for r in records:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        scopes = ",".join(sorted(s.value for s in r.scopes))
        typer.echo(f"{r.key_id}  {r.name}  {scopes}  {r.project or '*'}  {state}")
    if not records:
        typer.echo("(no keys: the server runs open, on loopback only)")


@keys_app.command("revoke")
def revoke_cmd(
    key_id: Annotated[str, typer.Argument(help="The key id (as `keys list` shows it).")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a key; requests and UI sessions with it are refused from then on."""
    with key_service(data_dir) as keys:
        record = keys.revoke(key_id)
    typer.echo(f"revoked key {record.key_id} ({record.name})")
