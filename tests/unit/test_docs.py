"""The docs name what exists: every CLI command, every settings field, every metric field."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from llmpulse.cli.main import app
from llmpulse.domain.metrics import NUMERIC_COLUMNS, Agg
from llmpulse.server.settings import ServerSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
METRICS_DOC = (ROOT / "docs" / "reference" / "metrics.md").read_text()


def _commands() -> list[str]:
    group = typer.main.get_group(app)
    out = []
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None)
        out += [f"{name} {s}" for s in sub] if sub else [name]
    return out


def test_readme_names_every_cli_command() -> None:
    missing = []
    for command in _commands():
        top, _, sub = command.partition(" ")
        rows = [line for line in README.splitlines() if line.startswith("| `llmpulse ")]
        row = next((line for line in rows if f"`llmpulse {top}" in line), "")
        if not row or (sub and not re.search(rf"\b{re.escape(sub)}\b", row)):
            missing.append(command)
    assert not missing


def test_readme_documents_the_environment_variable_of_every_server_setting() -> None:
    documented = set(re.findall(r"LLMPULSE_[A-Z_]+", README))
    for name, field in ServerSettings.model_fields.items():
        if name == "max_commit_spans":
            continue  # an internal tuning knob with no flag or variable
        env = re.findall(r"LLMPULSE_[A-Z_]+", field.description or "")
        assert env, f"{name} names no environment variable in its description"
        assert set(env) <= documented, f"{name}: {env} missing from the README"


def test_metrics_reference_lists_every_field_and_aggregation() -> None:
    for column in NUMERIC_COLUMNS:
        assert f"`{column}`" in METRICS_DOC or column in METRICS_DOC, column
    for agg in Agg:
        assert f"`{agg.value}`" in METRICS_DOC, agg
