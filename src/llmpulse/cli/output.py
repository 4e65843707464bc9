"""What the admin commands share: server options, tables, JSON output, errors, exit codes.

Admin commands talk to the REST API through the SDK `Client` (as amtool does), so they work
against a remote server. Output is a plain aligned table, or the server's JSON with ``--json``.
Exit codes: 0 ok, 1 error (the server's problem detail and field errors go to stderr),
2 usage (typer's own, and `bad_parameter`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
import yaml
from pydantic import BaseModel, ValidationError

from llmpulse.clock import Clock, SystemClock
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import InvalidInput
from llmpulse.sdk.client import DEFAULT_ENDPOINT, Client
from llmpulse.sdk.errors import LlmpulseApiError
from llmpulse.sdk.frames import JsonDict, Table
from llmpulse.sdk.query_params import SpanFilters

EXIT_ERROR = 1
EXIT_USAGE = 2

UrlOpt = Annotated[
    str, typer.Option("--url", envvar="LLMPULSE_URL", help="Base URL of the llmpulse server.")
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="LLMPULSE_API_KEY", help="API key (Bearer token)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the server's JSON answer.")]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="LLMPULSE_DATA_DIR", help="Data directory (default ~/.llmpulse/data)."
    ),
]
"""The data directory of the commands that open it themselves (server stopped)."""
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only spans that started within this long ago (24h, 30m, 7d)."),
]
StartOpt = Annotated[
    str | None, typer.Option("--start", help="ISO-8601 start instant (UTC if no offset).")
]
EndOpt = Annotated[
    str | None, typer.Option("--end", help="ISO-8601 end instant (UTC if no offset).")
]
AttrOpt = Annotated[
    list[str] | None,
    typer.Option("--attr", help="Attribute filter key:value (repeatable), e.g. metadata.tier:pro."),
]
ProjectArg = Annotated[str, typer.Argument(help="Project name.")]
KindOpt = Annotated[list[str] | None, typer.Option("--kind", help="Span kind filter.")]
ModelOpt = Annotated[list[str] | None, typer.Option("--model", help="Model filter.")]
StatusOpt = Annotated[str | None, typer.Option("--status", help="OK, ERROR or UNSET.")]
DEFAULT_URL = DEFAULT_ENDPOINT


def bad_parameter(message: str, param: str) -> NoReturn:
    """Stop with a usage error (exit 2) naming the option."""
    raise typer.BadParameter(message, param_hint=param)


M = TypeVar("M", bound=BaseModel)


def parse_since(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``2w`` as a timedelta (exit 2 on anything else)."""
    try:
        return parse_duration(text, "--since", unit_required=True)
    except InvalidInput:
        bad_parameter(f"{text!r} is not a duration such as 30m, 24h or 7d", "--since")


def _instant(value: str | None, option: str) -> str | None:
    if value:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            bad_parameter(f"{value!r} is not an ISO-8601 instant", option)
    return value or None


def time_window(
    since: str | None, start: str | None, end: str | None, clock: Clock | None = None
) -> tuple[str | None, str | None]:
    """The ``start`` and ``end`` filters from ``--since`` or ``--start``/``--end``."""
    if since and start:
        bad_parameter("give --since or --start, not both", "--since")
    if since:
        now = (clock or SystemClock()).now()
        start = (now - parse_since(since)).isoformat()
    return _instant(start, "--start"), _instant(end, "--end")


def span_filters(
    since: str | None, start: str | None, end: str | None, attr: list[str] | None,
    kind: list[str] | None, model: list[str] | None, status: str | None,
) -> SpanFilters:  # fmt: skip
    """The SDK's span filters from the shared filter options (``--since`` or ``--start``/…)."""
    begin, finish = time_window(since, start, end)
    return SpanFilters(start=begin, end=finish, attr=attr, kind=kind, model=model, status=status)


def load_yaml_file(path: Path, model: type[M]) -> M:
    """Read a config-as-code YAML file and validate it as ``model`` (the file's ``kind``).

    A file that cannot be read or parsed is one ``error: PATH: …`` line; a validation failure
    is one ``error: PATH: field.path: message`` line per field. Either way: exit 1.
    """
    try:
        return model.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            typer.echo(f"error: {path}: {loc}: {e['msg']}", err=True)
    raise typer.Exit(EXIT_ERROR)


def make_client(url: str, api_key: str | None) -> Client:
    """An SDK client for the admin commands (no retries beyond the SDK's back-pressure ones)."""
    return Client(url, api_key=api_key, timeout=120.0, actor="cli")


def format_value(value: Any) -> str:
    """One cell: null as ``-``, floats to 6 significant digits (whole ones as integers)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.1f}" if abs(value) >= 1e6 else f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ",".join(format_value(v) for v in value)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """A plain aligned table: a header, then one line per row; numbers right-aligned."""
    cells = [[format_value(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(columns)]
    numeric = [any(_is_number(r.get(c)) for r in rows) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for line in cells:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(line, widths, numeric, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def format_attrs(attrs: Mapping[str, Any], names: Sequence[str]) -> str:
    """``name: value`` lines for the report-level figures ``names`` present in ``attrs``."""
    return "\n".join(f"{n}: {format_value(attrs[n])}" for n in names if n in attrs)


def emit(
    body: Any,
    table: Table,
    *,
    as_json: bool,
    columns: Sequence[str] | None = None,
    footer: Sequence[str] = (),
) -> None:
    """Print ``body`` as JSON, or ``table`` (those ``columns``) with ``footer`` attrs after."""
    if as_json:
        typer.echo(json.dumps(body, indent=2, sort_keys=False))
        return
    shown = [c for c in (columns or table.columns) if c in table.columns]
    if table.rows:
        typer.echo(format_table(shown, table.rows))
    else:
        typer.echo("(no rows)")
    extra = format_attrs(table.attrs, footer)
    if extra:
        typer.echo(extra)


def echo_items(
    items: Sequence[Any], line: Callable[[Any], str], *, as_json: bool, empty: str
) -> None:
    """Print ``items`` as JSON, or one ``line(item)`` each (``empty`` when there is none)."""
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    for item in items:
        typer.echo(line(item))
    if not items:
        typer.echo(empty)


def fetch_and_emit(
    url: str,
    api_key: str | None,
    call: Callable[[Client], JsonDict],
    rows: Callable[[JsonDict], Table],
    *,
    as_json: bool,
    columns: Sequence[str] | None = None,
    footer: Sequence[str] = (),
) -> None:
    """Run ``call`` on a client (API errors exit 1), then `emit` its answer as ``rows``."""
    with api_errors(), make_client(url, api_key) as client:
        body = call(client)
    emit(body, rows(body), as_json=as_json, columns=columns, footer=footer)


def describe_error(exc: LlmpulseApiError) -> str:
    """The problem detail and one indented line per field error."""
    lines = [f"error: {exc.detail} (HTTP {exc.status})"]
    lines += [f"  {e.path}: {e.message}" for e in exc.errors]
    return "\n".join(lines)


@contextmanager
def api_errors() -> Iterator[None]:
    """Turn server refusals and connection failures into a message on stderr and exit 1."""
    try:
        yield
    except LlmpulseApiError as exc:
        typer.echo(describe_error(exc), err=True)
        raise typer.Exit(EXIT_ERROR) from None
    except httpx.HTTPError as exc:
        # One line; a `ServerUnreachable` says which command starts a server there.
        typer.echo(f"error: cannot reach the server: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
