"""`llmpulse gate`: pass (exit 0) or fail (exit 1) a version for a rollout, for CI/CD.

The server compares the version with its baseline on the guard-rail metrics over the time
both ran, and checks the version's own traffic against the project's SLOs; the reasons to
hold are printed (or the whole answer with ``--json``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from llmpulse.cli.output import DEFAULT_URL, ApiKeyOpt, JsonOpt, UrlOpt, api_errors, make_client

EXIT_FAIL = 1


def gate_cmd(
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    version: Annotated[str, typer.Option("--version", help="The candidate version.")],
    baseline: Annotated[str | None, typer.Option(help="Baseline (default: busiest other).")] = None,
    window: Annotated[str, typer.Option(help="How far back from now, e.g. 24h.")] = "24h",
    start: Annotated[str | None, typer.Option(help="ISO instant (instead of --window).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO instant (default: now).")] = None,
    slo: Annotated[list[str] | None, typer.Option(help="Only these SLOs (repeatable).")] = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Pass or fail a version from its guard-rail metrics and SLOs (exit 0 pass, 1 fail)."""
    with api_errors(), make_client(url, api_key) as client:
        r = client.gate(project, version, baseline=baseline, window=window, start=start,
                        end=end, slos=slo or ())  # fmt: skip
    if as_json:
        typer.echo(json.dumps(r, indent=2))
    else:
        verdict = "PASS" if r["passed"] else "FAIL"
        typer.echo(f"{verdict}: {r['version']} against {r['baseline']}")
        for g in r["guard_rails"]:
            typer.echo(f"  {g['metric']}: {g['verdict']} ({g['baseline_value']} → "
                       f"{g['candidate_value']})")  # fmt: skip
        for reason in r["reasons"]:
            typer.echo(f"  hold: {reason}")
    if not r["passed"]:
        raise typer.Exit(EXIT_FAIL)
