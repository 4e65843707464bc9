"""Data-directory commands: verified opening for ``serve``, ``backup`` and ``restore``.

``serve`` opens the stores here, before the HTTP server starts, so an unreadable store stops
it with one paragraph on stderr and exit code 1 instead of a traceback, and a damaged
write-ahead log is reported (what was recovered, what was lost) before anything is served.
``backup`` works on a stopped server's directory directly and asks a running server (which
holds the directory) to take the copy itself; ``restore`` needs the server stopped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    DataDirOpt,
    JsonOpt,
    UrlOpt,
    api_errors,
    make_client,
)
from llmpulse.clock import SystemClock
from llmpulse.domain.errors import Conflict, LlmpulseError
from llmpulse.server.services import OpenedStores
from llmpulse.server.settings import ServerSettings
from llmpulse.store.backup import backup_data_dir, default_backup_dir, restore_data_dir
from llmpulse.store.datadir import DataDir, open_stores
from llmpulse.store.memory import DEFAULT_MEMORY_LIMIT

log = logging.getLogger("llmpulse.cli")


@contextmanager
def refusal() -> Iterator[None]:
    """Turn an `LlmpulseError` into its message on stderr and exit code 1 (no traceback)."""
    try:
        yield
    except LlmpulseError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for e in exc.errors:
            typer.echo(f"  {e.path}: {e.message}", err=True)
        raise typer.Exit(1) from None


def open_verified(
    data_dir: Path | None,
    *,
    journal: bool = True,
    search_index: bool = True,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> OpenedStores:
    """Open (and so verify) the data directory's stores, or exit 1 with the reason."""
    with refusal():
        events, state = open_stores(
            data_dir, journal=journal, search_index=search_index, memory_limit=memory_limit
        )
    for note in events.warnings():
        log.warning("%s", note)
        typer.echo(f"warning: {note}", err=True)
    return events, state


def backup(
    target: Annotated[
        str | None,
        typer.Argument(
            help="Server stopped: a new directory. Server running: a name inside its backup "
            "directory. Default: the UTC time, in the backup directory."
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy a data directory consistently, also while the server is ingesting.

    With the server stopped the copy is taken here. While it runs (it holds the directory),
    the server at --url takes it, into its own backup directory (serve --backup-dir), so a
    request can never make the server write elsewhere.
    """
    source = data_dir or ServerSettings().data_dir
    assert source is not None  # noqa: S101 - the default is a path
    try:
        DataDir(source).lock().release()
    except Conflict:
        report = _backup_remote(target, url, api_key)
    else:
        report = _backup_local(source, target)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        spans, size, where = report["spans"], report["bytes"], report["target"]
        typer.echo(f"backed up {spans} spans ({size} bytes) to {where}")


def _backup_remote(target: str | None, url: str, api_key: str | None) -> dict[str, Any]:
    if target is not None and "/" in target:
        typer.echo(
            "error: the server is running, so it takes the backup into its own backup "
            "directory (serve --backup-dir): give a name, not a path",
            err=True,
        )
        raise typer.Exit(1)
    with api_errors(), make_client(url, api_key) as client:
        report: dict[str, Any] = client.backup(target)
    return report


def _backup_local(source: Path, target: str | None) -> dict[str, Any]:
    now = SystemClock().now()
    where = Path(target) if target else default_backup_dir(source) / now.strftime("%Y%m%dT%H%M%SZ")
    with refusal():
        events, state = open_stores(source)
        try:
            r = backup_data_dir(events, source, where, now)
        finally:
            events.close()
            state.close()
    return {"target": r.target, "spans": r.spans, "bytes": r.bytes, "created_at": r.created_at}


def restore(
    backup_dir: Annotated[Path, typer.Argument(help="A directory written by `llmpulse backup`.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Put a backup in place of a data directory's databases (server stopped).

    The backup is verified first; the files it replaces are moved to a ``replaced-<time>``
    folder inside the data directory, never deleted.
    """
    target = data_dir or ServerSettings().data_dir
    assert target is not None  # noqa: S101 - the default is a path
    target.mkdir(parents=True, exist_ok=True)
    with refusal():
        aside = restore_data_dir(backup_dir, target, SystemClock().now())
    typer.echo(f"restored {backup_dir} into {target}")
    if aside is not None:
        typer.echo(f"the files it replaced are in {aside}")
