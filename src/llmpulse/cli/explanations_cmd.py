"""`llmpulse explanations ...`: explain predictions and answers, search and verify records.

``verify`` exits 1 when the project's record chain is broken (the first bad record is named),
so it can run in a cron job or CI; ``reason-codes apply -f codes.yaml`` applies a
``kind: ReasonCodes`` file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from llmpulse.cli.output import (
    DEFAULT_URL,
    ApiKeyOpt,
    JsonOpt,
    UrlOpt,
    api_errors,
    load_yaml_file,
    make_client,
)
from llmpulse.domain.explain_policy import ExplainPolicy
from llmpulse.domain.reason_codes import ReasonCodes

explanations_app = typer.Typer(
    name="explanations", help="Explanations: SHAP, RAG attribution, records.",
    no_args_is_help=True,
)  # fmt: skip
reason_codes_app = typer.Typer(
    name="reason-codes", help="Reason-code tables.", no_args_is_help=True
)
explanations_app.add_typer(reason_codes_app, name="reason-codes")
policy_app = typer.Typer(name="policy", help="Which spans get explained.", no_args_is_help=True)
explanations_app.add_typer(policy_app, name="policy")
ProjectArg = Annotated[str, typer.Argument(help="Project name.")]
ExternalOpt = Annotated[
    list[str] | None,
    typer.Option("--external-id", help="External record id name=value (repeatable)."),
]


def _pairs(values: list[str] | None, sep: str = "=") -> dict[str, str]:
    out = {}
    for v in values or []:
        name, ok, value = v.partition(sep)
        if not ok:
            raise typer.BadParameter(f"{v!r} is not name{sep}value", param_hint="--external-id")
        out[name] = value
    return out


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@explanations_app.command("verify")
def verify_cmd(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Recompute the project's hash chain of explanation records (exit 1 if broken)."""
    with api_errors(), make_client(url, api_key) as client:
        result = client.verify_explanations(project)
    if as_json:
        _echo(result)
    elif result["ok"]:
        typer.echo(f"ok: {result['records']} records, head {result['head_hash']}")
    else:
        typer.echo(f"BROKEN at record {result['first_bad_record']}: {result['reason']}", err=True)
    if not result["ok"]:
        raise typer.Exit(1)


@explanations_app.command("search")
def search_cmd(
    project: ProjectArg,
    external_id: Annotated[str | None, typer.Option(help="name:value, e.g. case_id:C-17.")] = None,
    subject_id: Annotated[str | None, typer.Option(help="Span or prediction id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Find explanation records by external id or subject, newest first."""
    ext = None
    if external_id is not None:
        name, ok, value = external_id.partition(":")
        if not ok:
            raise typer.BadParameter("use name:value", param_hint="--external-id")
        ext = (name, value)
    with api_errors(), make_client(url, api_key) as client:
        found = client.search_explanations(
            project, external_id=ext, subject_id=subject_id, limit=limit
        )
    if as_json:
        _echo(found)
        return
    for r in found:
        b = r["body"]
        typer.echo(f"{r['record_id']}  {b['method']:<26} {b['subject']['kind']}:"
                   f"{b['subject']['id']}  {r['created_at']}")  # fmt: skip
    if not found:
        typer.echo("(no records)")


@explanations_app.command("explain")
def explain_cmd(
    project: ProjectArg,
    prediction_id: Annotated[str, typer.Argument(help="Prediction id.")],
    method: Annotated[str, typer.Option(help="auto, client or surrogate.")] = "auto",
    external_id: ExternalOpt = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Explain one logged prediction (SHAP contributions and reason codes); recorded."""
    with api_errors(), make_client(url, api_key) as client:
        out = client.explain_prediction(
            project, prediction_id, method=method, external_ids=_pairs(external_id)
        )
    if as_json:
        _echo(out)
        return
    exp = out["explanation"]
    typer.echo(f"{exp['method']}  decision={exp['decision']}  record {out['record_id']}")
    for c in exp["contributions"][:10]:
        typer.echo(f"  {c['feature']:<24} {c['contribution']:+.4f}  ({c['value']})")
    for r in exp["reasons"]:
        typer.echo(f"  reason {r['code']}: {r['text']}")


@explanations_app.command("rag")
def rag_cmd(
    project: ProjectArg,
    trace_id: Annotated[str, typer.Argument(help="Trace id of the answer.")],
    method: Annotated[str, typer.Option(help="auto, contextcite, embedding or lexical.")] = "auto",
    external_id: ExternalOpt = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Attribute a traced RAG answer to its chunks; recorded."""
    with api_errors(), make_client(url, api_key) as client:
        out = client.explain_rag(
            project, trace_id=trace_id, method=method, external_ids=_pairs(external_id)
        )
    if as_json:
        _echo(out)
        return
    exp = out["explanation"]
    typer.echo(f"{exp['method']}  record {out['record_id']}")
    for c in exp["chunks"]:
        typer.echo(f"  [{c['index'] + 1}] {c['score']:+.4f}  {c['text'][:70]}")


@explanations_app.command("why")
def why_cmd(
    project: ProjectArg,
    prediction: Annotated[str | None, typer.Option(help="Prediction id.")] = None,
    span: Annotated[str | None, typer.Option(help="Span id of an answer.")] = None,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """The compact end-user "why" of a decision or an answer (JSON)."""
    if (prediction is None) == (span is None):
        raise typer.BadParameter("give --prediction or --span", param_hint="--prediction")
    with api_errors(), make_client(url, api_key) as client:
        if prediction is not None:
            _echo(client.why_prediction(project, prediction))
        else:
            _echo(client.why_span(project, str(span)))


@explanations_app.command("run")
def run_cmd(
    project: ProjectArg,
    target: Annotated[str | None, typer.Option(help="predictions or answers.")] = None,
    sample_rate: Annotated[float | None, typer.Option(help="Share of spans explained.")] = None,
    confidence_below: Annotated[float | None, typer.Option(help="Only below this.")] = None,
    workflow: Annotated[list[str] | None, typer.Option(help="Only these workflows.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many explanations.")] = 1000,
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Explain what a triggering policy picks (all, a sample, low confidence, workflows); with
    no policy option, the project's stored policy."""
    policy: dict[str, Any] | None = None
    if sample_rate is not None or confidence_below is not None or workflow:
        policy = {"sample_rate": 1.0 if sample_rate is None else sample_rate,
                  "workflows": list(workflow or [])}  # fmt: skip
        if confidence_below is not None:
            policy["confidence_below"] = confidence_below
    with api_errors(), make_client(url, api_key) as client:
        out = client.explain_triggered(project, policy, target=target, limit=limit)
    _echo({k: v for k, v in out.items() if k != "records"} | {"records": len(out["records"])})


@policy_app.command("apply")
def policy_apply(
    file: Annotated[Path, typer.Option("-f", "--file", help="A kind: ExplainPolicy YAML file.")],
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Store a project's explanation policy from a ``kind: ExplainPolicy`` file."""
    spec = load_yaml_file(file, ExplainPolicy)
    with api_errors(), make_client(url, api_key) as client:
        client.apply_explain_policy(spec.model_dump(mode="json"))
    typer.echo(f"{spec.project}: explain {spec.target} by the stored policy")


@policy_app.command("show")
def policy_show(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Print the project's explanation policy as YAML."""
    with api_errors(), make_client(url, api_key) as client:
        typer.echo(yaml.safe_dump(client.get_explain_policy(project), sort_keys=False))


@reason_codes_app.command("apply")
def reason_codes_apply(
    file: Annotated[Path, typer.Option("-f", "--file", help="A kind: ReasonCodes YAML file.")],
    url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Replace a project's reason table from a ``kind: ReasonCodes`` file (checked first)."""
    spec = load_yaml_file(file, ReasonCodes)
    with api_errors(), make_client(url, api_key) as client:
        client.apply_reason_codes(spec.model_dump(mode="json"))
    typer.echo(f"{spec.project}: {len(spec.reasons)} reasons")


@reason_codes_app.command("show")
def reason_codes_show(
    project: ProjectArg, url: UrlOpt = DEFAULT_URL, api_key: ApiKeyOpt = None,
) -> None:  # fmt: skip
    """Print the project's reason table as YAML."""
    with api_errors(), make_client(url, api_key) as client:
        table = client.get_reason_codes(project)
    typer.echo(yaml.safe_dump(table, sort_keys=False))
