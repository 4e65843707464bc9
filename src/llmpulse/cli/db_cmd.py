"""`llmpulse db compact`: give the event database's free blocks back (ADR 0019)."""

from __future__ import annotations

import typer

from llmpulse.cli.output import DataDirOpt

db_app = typer.Typer(
    help="Maintenance of the data directory (server stopped).", no_args_is_help=True
)


@db_app.command("compact")
def compact(
    data_dir: DataDirOpt = None,
) -> None:
    """Rewrite the event database without its free blocks (a running server does this by
    itself once a quarter of the file is free)."""
    from llmpulse.domain.errors import LlmpulseError
    from llmpulse.server.settings import ServerSettings
    from llmpulse.store.datadir import DataDir, open_stores

    target = data_dir or ServerSettings().data_dir
    if target is None or not DataDir(target).events_path.exists():
        typer.echo(f"error: no event database in {target}", err=True)
        raise typer.Exit(1)
    try:
        events, state = open_stores(target)
    except LlmpulseError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    try:
        before = events.free_space()
        done = events.compact()
    except LlmpulseError as exc:  # e.g. too little free disk for the copy
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        state.close()
        events.close()
    if done is None:
        return
    per_span = f", {done.bytes_after / done.num_spans:.0f} B/span" if done.num_spans else ""
    typer.echo(
        f"compacted {done.num_spans} spans: {done.bytes_before:,} -> {done.bytes_after:,} bytes "
        f"({before.free_ratio:.0%} of the blocks were free{per_span})"
    )
