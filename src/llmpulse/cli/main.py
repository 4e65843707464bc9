"""`llmpulse` commands: serve, demo, metrics, segments, prices, cohorts, db."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from llmpulse.cli.alerts_cmd import alerts_app, backtest_cmd
from llmpulse.cli.apply_cmd import apply, export
from llmpulse.cli.cohorts_cmd import cohorts_app
from llmpulse.cli.datadir_cmd import backup, open_verified, restore
from llmpulse.cli.db_cmd import db_app
from llmpulse.cli.evals_cmd import evals_app
from llmpulse.cli.explanations_cmd import explanations_app
from llmpulse.cli.gate_cmd import gate_cmd
from llmpulse.cli.keys_cmd import keys_app
from llmpulse.cli.metrics_cmd import metrics_app, prices_app
from llmpulse.cli.monitors_cmd import monitors_app, receivers_app, silences_app
from llmpulse.cli.output import DataDirOpt
from llmpulse.cli.projects_cmd import projects_app
from llmpulse.cli.segments_cmd import segments_app
from llmpulse.cli.slos_cmd import slos_app
from llmpulse.server.settings import (
    DEFAULT_GRPC_PORT,
    DEFAULT_PORT,
    ServerSettings,
    is_loopback_host,
)

T = TypeVar("T")
_DEFAULTS = ServerSettings(data_dir=None)
SWITCH_INTERVAL_S = 0.0002
# Ingest allocates a few dozen short-lived containers per span, so CPython's default first
# generation (700) collects every ~30 spans and each older collection walks the whole server
# (ADR 0007): after start-up the app's own objects are frozen out of collections and the
# first generation holds 50,000.
GC_THRESHOLDS = (50_000, 20, 20)

app = typer.Typer(
    name="llmpulse",
    help="Observability and monitoring for LLM applications.",
    no_args_is_help=True,
    add_completion=False,
)

app.add_typer(metrics_app, name="metrics")
app.add_typer(segments_app, name="segments")
app.add_typer(prices_app, name="prices")
app.add_typer(cohorts_app, name="cohorts")
app.add_typer(slos_app, name="slos")
app.command("gate")(gate_cmd)
app.add_typer(evals_app, name="evals")
app.add_typer(projects_app, name="projects")
app.add_typer(keys_app, name="keys")
app.add_typer(monitors_app, name="monitors")
monitors_app.command("backtest")(backtest_cmd)
app.add_typer(alerts_app, name="alerts")
app.add_typer(silences_app, name="silences")
app.add_typer(receivers_app, name="receivers")
app.command("apply")(apply)
app.command("export")(export)
app.add_typer(explanations_app, name="explanations")
app.command()(backup)
app.command()(restore)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="LLMPULSE_HOST", help="Interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="LLMPULSE_PORT", help="HTTP port.")] = DEFAULT_PORT,
    grpc_port: Annotated[
        int, typer.Option(envvar="LLMPULSE_GRPC_PORT", help="OTLP/gRPC port; 0 = off.")
    ] = DEFAULT_GRPC_PORT,
    data_dir: DataDirOpt = None,
    max_body_bytes: Annotated[
        int, typer.Option(envvar="LLMPULSE_MAX_BODY_BYTES", help="Largest request body.")
    ] = 32 * 1024 * 1024,
    max_queued_spans: Annotated[
        int, typer.Option(envvar="LLMPULSE_MAX_QUEUED_SPANS", help="Ingest queue bound.")
    ] = 200_000,
    max_rest_body_bytes: Annotated[
        int, typer.Option(envvar="LLMPULSE_MAX_REST_BODY_BYTES", help="Largest REST/UI body.")
    ] = _DEFAULTS.max_rest_body_bytes,
    max_inflight_bytes: Annotated[
        int,
        typer.Option(envvar="LLMPULSE_MAX_INFLIGHT_BYTES", help="Request body bytes held at once."),
    ] = _DEFAULTS.max_inflight_bytes,
    header_timeout: Annotated[
        float, typer.Option(envvar="LLMPULSE_HEADER_TIMEOUT", help="Seconds to send headers.")
    ] = _DEFAULTS.header_timeout_s,
    body_timeout: Annotated[
        float, typer.Option(envvar="LLMPULSE_BODY_TIMEOUT", help="Seconds to send a body.")
    ] = _DEFAULTS.body_timeout_s,
    max_connections: Annotated[
        int, typer.Option(envvar="LLMPULSE_MAX_CONNECTIONS", help="Open HTTP connections.")
    ] = _DEFAULTS.max_connections,
    demo: Annotated[
        bool, typer.Option("--demo", help="Fill the rag-demo project at start if empty.")
    ] = False,
    decode_workers: Annotated[
        int,
        typer.Option(
            envvar="LLMPULSE_DECODE_WORKERS", help="Decode processes; 0 = threads, -1 = auto."
        ),
    ] = -1,
    prices: Annotated[
        Path | None,
        typer.Option(envvar="LLMPULSE_PRICES", help="YAML PriceTable over the shipped prices."),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            envvar="LLMPULSE_ALLOWED_HOSTS",
            help="Host header name to accept (repeat or comma-list; * = any).",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure", envvar="LLMPULSE_INSECURE", help="Serve a non-loopback host with no key."
        ),
    ] = False,
    min_free_bytes: Annotated[
        int,
        typer.Option(
            envvar="LLMPULSE_MIN_FREE_BYTES", help="Free disk below which /readyz says full."
        ),
    ] = 16 * 1024 * 1024,
    ingest_journal: Annotated[
        bool,
        typer.Option(
            "--ingest-journal/--no-ingest-journal",
            envvar="LLMPULSE_INGEST_JOURNAL",
            help="Journal ingest batches so a damaged WAL loses no acknowledged span.",
        ),
    ] = True,
    search_index: Annotated[
        bool,
        typer.Option(
            "--search-index/--no-search-index",
            envvar="LLMPULSE_SEARCH_INDEX",
            help="Keep the search index behind ingest (off: searches scan every span).",
        ),
    ] = True,
    memory_limit: Annotated[
        str,
        typer.Option(
            envvar="LLMPULSE_MEMORY_LIMIT",
            help="Event store buffer pool bound, shared by ingest and queries (512MB, 2GB).",
        ),
    ] = _DEFAULTS.memory_limit,
    backup_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="LLMPULSE_BACKUP_DIR", help="Where REST backups go (default: beside the data)."
        ),
    ] = None,
    monitors_file: Annotated[
        Path | None,
        typer.Option(envvar="LLMPULSE_MONITORS_FILE", help="YAML monitors to evaluate."),
    ] = None,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            envvar="LLMPULSE_SCHEDULER",
            help="Evaluate monitors and send alerts in this process.",
        ),
    ] = True,
    retention_interval: Annotated[
        float,
        typer.Option(
            envvar="LLMPULSE_RETENTION_INTERVAL_S", help="Seconds between retention rounds."
        ),
    ] = _DEFAULTS.retention_interval_s,
) -> None:
    """Run the server: UI, REST API and OTLP/HTTP on one port, OTLP/gRPC on another."""
    from llmpulse.server.app import create_app
    from llmpulse.server.runner import bind_ports, serve_app

    # DuckDB takes the GIL back between the tasks of every statement, so a commit waits up
    # to one switch interval per task while a decode holds the GIL: with CPython's 5 ms a
    # 300-span insert took ~50 ms instead of ~6 (ADR 0006). 0.2 ms keeps that wait small.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    check_serve_inputs(data_dir or ServerSettings().data_dir, prices)
    check_exposure(host, insecure, data_dir or ServerSettings().data_dir)

    settings = _settings_or_exit(
        host=host,
        port=port,
        grpc_port=grpc_port,
        data_dir=data_dir or ServerSettings().data_dir,
        max_body_bytes=max_body_bytes,
        max_queued_spans=max_queued_spans,
        prices_file=prices,
        decode_workers=decode_workers,
        max_rest_body_bytes=max_rest_body_bytes,
        max_inflight_bytes=max_inflight_bytes,
        header_timeout_s=header_timeout,
        body_timeout_s=body_timeout,
        max_connections=max_connections,
        allowed_hosts=tuple(h for v in allowed_host or [] for h in v.split(",")),
        insecure=insecure,
        min_free_bytes=min_free_bytes,
        ingest_journal=ingest_journal,
        search_index=search_index,
        memory_limit=memory_limit,
        backup_dir=backup_dir,
        monitors_file=monitors_file,
        scheduler=scheduler,
        retention_interval_s=retention_interval,
    )
    sock = _or_exit(lambda: bind_ports(settings))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stores = open_verified(
        settings.data_dir,
        journal=ingest_journal,
        search_index=search_index,
        memory_limit=settings.memory_limit,
    )
    typer.echo(f"llmpulse on http://{host}:{port}  data dir: {settings.data_dir}")
    asgi_app = create_app(settings, demo=demo, stores=stores)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    serve_app(asgi_app, settings, sock)


@app.command()
def demo(
    data_dir: DataDirOpt = None,
    days: Annotated[int, typer.Option(help="Days of traffic.")] = 7,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
    end: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z"],
            help="When the traffic ends (default now); the same end gives the same spans.",
        ),
    ] = None,
) -> None:
    """Fill the rag-demo project with a week of realistic RAG traffic (server stopped)."""
    from llmpulse.cli.demo_load import load_demo_command

    target = data_dir or ServerSettings().data_dir
    check_serve_inputs(target, None)
    load_demo_command(target, days=days, quiet=quiet, end=end)


def _settings_or_exit(**values: object) -> ServerSettings:
    """`ServerSettings` from the flags; a bad value is one line naming the setting, exit 2."""
    from pydantic import ValidationError

    try:
        return ServerSettings.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            typer.echo(f"error: {name}: {err['msg']}", err=True)
        raise typer.Exit(2) from None


def _or_exit(start: Callable[[], T]) -> T:
    """Run a start-up step; an `LlmpulseError` (a port in use) becomes one line and exit 1."""
    from llmpulse.domain.errors import LlmpulseError

    try:
        return start()
    except LlmpulseError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None


def check_serve_inputs(data_dir: Path | None, prices: Path | None) -> None:
    """Fail fast, with a message instead of a traceback, on a bad price file or a busy dir."""
    from llmpulse.domain.errors import LlmpulseError
    from llmpulse.ingest.pricing import load_price_table
    from llmpulse.store.datadir import DataDir

    try:
        if prices is not None:
            load_price_table(prices)
        if data_dir is not None:
            DataDir(data_dir).lock().release()
    except LlmpulseError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for e in exc.errors:
            typer.echo(f"  {e.path}: {e.message}", err=True)
        raise typer.Exit(1) from None


def check_exposure(host: str, insecure: bool, data_dir: Path | None) -> None:
    """Refuse, with a message, to serve a non-loopback interface while no API key exists."""
    from llmpulse.server.access import exposure_problem

    active = 0
    if data_dir is not None and not is_loopback_host(host) and not insecure:
        from llmpulse.cli.keys_cmd import key_service

        with key_service(data_dir) as keys:
            active = sum(1 for r in keys.list() if r.active)
    problem = exposure_problem(host, insecure, active)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)


def main() -> None:
    """Console entry point."""
    app()
