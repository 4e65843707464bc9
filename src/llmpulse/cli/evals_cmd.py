"""`llmpulse evals rules|apply|backfill|jobs|online`: evaluation rules and backfill jobs.

``apply -f rules.yaml`` reads a ``kind: EvalRuleList`` file (validated offline first), prints
the plan, then applies it (``--dry-run`` exits 3 when there are changes). ``backfill PROJECT
RULE`` starts a job and follows it with a progress bar on a terminal (plain progress lines
otherwise, nothing with ``--quiet``); it exits 1 if the job failed and 4 if the cost cap
stopped it.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    JsonOpt,
    UrlOpt,
    api_errors,
    load_model_file,
    make_client,
)
from llmpulse.domain.eval_rules import EvalRuleList

evals_app = typer.Typer(
    name="evals", help="Evaluation rules (LLM judges, offline evaluators).", no_args_is_help=True
)
ProjectArg = Annotated[str, typer.Argument(help="Project name.")]
EXIT_CHANGES = 3
EXIT_STOPPED = 4


@evals_app.command("rules")
def rules_cmd(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The project's evaluation rules."""
    with api_errors(), make_client(url, api_key) as client:
        rules = client.list_eval_rules(project)
    if as_json:
        typer.echo(json.dumps(rules, indent=2))
        return
    for r in rules:
        mode = "online" if r["online"] else "backfill only"
        typer.echo(f"{r['name']}: {r['evaluator']['kind']} ({mode})")
    if not rules:
        typer.echo("(no rules)")


def load_rule_file(path: Path) -> dict[str, Any]:
    """Read and validate an EvalRuleList YAML file (exit 1 with the field path on error)."""
    return load_model_file(path, EvalRuleList).model_dump(mode="json")


@evals_app.command("apply")
def apply_cmd(
    file: Annotated[Path, typer.Option("-f", "--file", help="A kind: EvalRuleList YAML file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete rules not in the file.")] = False,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Make the server's rules match the file, printing the plan first."""
    spec = load_rule_file(file)
    with api_errors(), make_client(url, api_key) as client:
        plan = client.apply_eval_rules(spec, prune=prune, dry_run=True)
        for label in ("create", "update", "delete", "unchanged"):
            for name in plan[label]:
                typer.echo(f"{label:9s} {spec['project']}/{name}")
        changes = bool(plan["create"] or plan["update"] or plan["delete"])
        if dry_run:
            raise typer.Exit(EXIT_CHANGES if changes else 0)
        client.apply_eval_rules(spec, prune=prune)
    typer.echo("applied" if changes else "nothing to change")


def _line(job: dict[str, Any]) -> str:
    r = job["report"]
    return (
        f"{job['state']}: {r['considered']}/{job['total']} spans, {r['selected']} picked, "
        f"{r['evaluated']} evaluated, {r['errors']} errors, ${r['cost_usd']:.4f}"
    )


@evals_app.command("backfill")
def backfill_cmd(
    project: ProjectArg,
    rule: Annotated[str, typer.Argument(help="Rule name.")],
    start: Annotated[datetime | None, typer.Option(help="Spans starting at or after.")] = None,
    end: Annotated[datetime | None, typer.Option(help="Spans starting before.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many spans.")] = None,
    max_cost_usd: Annotated[float | None, typer.Option(help="Cost cap of this run.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Evaluate stored spans with a rule, following the job to its end."""
    with api_errors(), make_client(url, api_key) as client:
        job = client.backfill_eval_rule(project, rule, start=start, end=end, limit=limit,
                                        max_cost_usd=max_cost_usd)  # fmt: skip
        if quiet or as_json:
            job = client.wait_eval_job(project, job["id"])
        elif sys.stdout.isatty():
            with typer.progressbar(length=max(1, job["total"]), label=f"{rule}") as bar:
                seen = [0]

                def advance(j: dict[str, Any]) -> None:
                    done = j["report"]["considered"]
                    bar.update(max(0, done - seen[0]))
                    seen[0] = done

                job = client.wait_eval_job(project, job["id"], on_progress=advance)
        else:
            job = client.wait_eval_job(
                project, job["id"], on_progress=lambda j: typer.echo(_line(j))
            )
    typer.echo(
        json.dumps(job, indent=2)
        if as_json
        else _line(job) + (f" ({job['detail']})" if job["detail"] else "")
    )
    if job["state"] == "failed":
        raise typer.Exit(1)
    if job["state"] == "stopped":
        raise typer.Exit(EXIT_STOPPED)


@evals_app.command("jobs")
def jobs_cmd(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The project's backfill jobs, newest first."""
    with api_errors(), make_client(url, api_key) as client:
        jobs = client.list_eval_jobs(project)
    if as_json:
        typer.echo(json.dumps(jobs, indent=2))
        return
    for j in jobs:
        typer.echo(f"{j['id']} {j['rule']} {_line(j)}")
