"""`llmpulse monitors list|get|delete`, `silences add|list|expire`, `receivers list|test`.

Admin commands over the REST API (through the SDK), like every command but ``serve``/``db``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    JsonOpt,
    UrlOpt,
    api_errors,
    echo_items,
    make_client,
)

monitors_app = typer.Typer(name="monitors", help="Monitors (configuration).", no_args_is_help=True)
silences_app = typer.Typer(name="silences", help="Silences: mute alerts.", no_args_is_help=True)
receivers_app = typer.Typer(name="receivers", help="Notification receivers.", no_args_is_help=True)
ProjectArg = Annotated[str, typer.Argument(help="Project name.")]
NameArg = Annotated[str, typer.Argument(help="Name.")]


@monitors_app.command("list")
def monitors_list(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The project's monitors: name, metric, every/window, severity, enabled, and read-only
    ones (from the monitors file or the demo) with their source."""
    with api_errors(), make_client(url, api_key) as client:
        found = client.list_monitors(project)
    echo_items(found, _monitor_line, as_json=as_json, empty="(no monitors)")


def _monitor_line(m: dict[str, Any]) -> str:
    s = m["spec"]
    detector = (s.get("detector") or {}).get("name", "adaptive")
    return (
        f"{m['metadata']['name']}  {s['metric']}  every {s['every']} window {s['window']}  "
        f"{detector}  {s.get('severity', 'warning')}"
        f"{'' if s.get('enabled', True) else '  (disabled)'}"
        f"{'  (read-only: ' + str(m.get('source')) + ')' if m.get('read_only') else ''}"
    )


@monitors_app.command("get")
def monitors_get(
    project: ProjectArg, name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """One monitor as its YAML manifest."""
    with api_errors(), make_client(url, api_key) as client:
        m = client.get_monitor(project, name)
    typer.echo(json.dumps(m, indent=2) if as_json else yaml.safe_dump(m, sort_keys=False))


@monitors_app.command("delete")
def monitors_delete(
    project: ProjectArg, name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None
) -> None:
    """Delete a monitor."""
    with api_errors(), make_client(url, api_key) as client:
        client.delete_monitor(project, name)
    typer.echo(f"deleted {project}/{name}")


def _silence_line(s: dict[str, object]) -> str:
    matchers = ", ".join(str(m) for m in s["matchers"])  # type: ignore[attr-defined]
    return (
        f"{s['name']}  {s['state']}  {s['starts_at']} .. {s['ends_at']}  {{{matchers}}}  "
        f"by {s['created_by'] or '-'}: {s['comment']}"
    )


@silences_app.command("add")
def silences_add(
    project: ProjectArg,
    matcher: Annotated[list[str], typer.Option("--matcher", "-m", help='e.g. monitor="x"')],
    duration: Annotated[str | None, typer.Option(help="How long, e.g. 2h.")] = None,
    end: Annotated[str | None, typer.Option(help="ISO-8601 end instead of --duration.")] = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601 start (default now).")] = None,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    author: Annotated[str | None, typer.Option(help="Who (default: the API key or cli).")] = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Silence the project's alerts that match every matcher."""
    with api_errors(), make_client(url, api_key) as client:
        s = client.create_silence(
            project, matcher, duration=duration if end is None else None, ends_at=end,
            starts_at=start, comment=comment, created_by=author,
        )  # fmt: skip
    typer.echo(json.dumps(s, indent=2) if as_json else _silence_line(s))


@silences_app.command("list")
def silences_list(
    project: ProjectArg,
    state: Annotated[str, typer.Option(help="active, pending, expired or all.")] = "all",
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The project's silences."""
    with api_errors(), make_client(url, api_key) as client:
        found = client.list_silences(project, state)
    echo_items(found, _silence_line, as_json=as_json, empty="(no silences)")


@silences_app.command("expire")
def silences_expire(
    project: ProjectArg, name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None
) -> None:
    """End a silence now."""
    with api_errors(), make_client(url, api_key) as client:
        s = client.expire_silence(project, name)
    typer.echo(_silence_line(s))


@receivers_app.command("list")
def receivers_list(
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False
) -> None:
    """Every receiver (secrets shown only as environment references)."""
    with api_errors(), make_client(url, api_key) as client:
        found = client.list_receivers()
    echo_items(
        found,
        lambda r: f"{r['metadata']['name']}  {r['spec']['type']}  {r['spec']['settings']}",
        as_json=as_json,
        empty="(no receivers)",
    )


@receivers_app.command("test")
def receivers_test(
    name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False
) -> None:
    """Send a test notification; exit 1 when the service did not accept it."""
    with api_errors(), make_client(url, api_key) as client:
        d = client.test_receiver(name)
    typer.echo(
        json.dumps(d, indent=2) if as_json else f"{'ok' if d['ok'] else 'FAILED'}: {d['detail']}"
    )
    if not d["ok"]:
        raise typer.Exit(1)
