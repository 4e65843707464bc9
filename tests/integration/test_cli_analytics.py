"""`llmpulse metrics|segments|prices` run as a user would, against a real server.

The traffic (planted failing region, costly product line, slower version) comes from
`test_sdk_analytics.load_traffic`; the expected numbers are computed from what was posted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from test_sdk_analytics import (
    N_SPANS,
    REGIONS,
    Traffic,
    llm_attrs,
    load_traffic,
    otlp_span,
    post_spans,
    unique,
)

from llmpulse.cli.output import format_value
from llmpulse.clock import SystemClock, to_unix_ns
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration
FOOTER = re.compile(r"^\w+: ")


def run_cli(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m llmpulse ARGS`` with ``LLMPULSE_URL`` set to ``url``."""
    env = {**os.environ, "LLMPULSE_URL": url or "", "COLUMNS": "200"}
    if url is None:
        env.pop("LLMPULSE_URL")
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def data_lines(stdout: str) -> list[list[str]]:
    """The table's rows (after the header, before the ``name: value`` footer), split."""
    return [line.split() for line in stdout.splitlines()[1:] if not FOOTER.match(line)]


@pytest.fixture(scope="module")
def traffic(live_server: ServerProcess) -> Traffic:
    return load_traffic(live_server.url, unique("cli-analytics"))


def test_cli_metrics_query_prints_one_row_per_region_when_grouped(
    live_server: ServerProcess, traffic: Traffic
) -> None:
    out = run_cli(
        "metrics", "query", traffic.project, "-m", "latency_ms:p95", "-m", "error:rate",
        "--group-by", "metadata.region", "--since", "24h", url=live_server.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == [
        "metadata.region", "n", "latency_ms:p95", "error:rate",
    ]  # fmt: skip
    rows = {r[0]: r for r in data_lines(out.stdout)}
    assert sorted(rows) == sorted(REGIONS)
    truth = traffic.frame().groupby("region")["error"]
    for region, row in rows.items():
        assert row[1] == str(truth.size()[region])
        assert row[3] == format_value(float(truth.mean()[region]))


def test_cli_metrics_query_prints_the_server_json_when_asked(
    live_server: ServerProcess, traffic: Traffic
) -> None:
    out = run_cli(
        "metrics", "query", traffic.project, "-m", "count", "--bucket", "1h",
        "--attr", "metadata.region:eu-west", "--json", "--url", live_server.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["metrics"] == ["count"]
    assert body["bucket_s"] == 3600
    assert sum(r["n"] for r in body["rows"]) == N_SPANS // len(REGIONS)


def test_cli_metrics_query_exits_1_with_the_field_error_when_the_metric_is_bad(
    live_server: ServerProcess, traffic: Traffic
) -> None:
    out = run_cli(
        "metrics", "query", traffic.project, "-m", "count", "-m", "latency_ms:rate",
        url=live_server.url,
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stdout == ""
    assert "(HTTP 400)" in out.stderr
    assert "metric[1]: rate applies to outcome fields" in out.stderr


def test_cli_exits_2_on_usage_errors(live_server: ServerProcess) -> None:
    bad_since = run_cli("metrics", "query", "p", "-m", "count", "--since", "soon",
                        url=live_server.url)  # fmt: skip
    assert bad_since.returncode == 2
    assert "--since" in bad_since.stderr
    missing = run_cli("segments", "compare", "p", "--metric", "error:rate", url=live_server.url)
    assert missing.returncode == 2
    assert "--key" in missing.stderr


def test_cli_exits_1_when_the_server_cannot_be_reached() -> None:
    out = run_cli("metrics", "unpriced", "p", "--url", f"http://127.0.0.1:{free_port()}")
    assert out.returncode == 1
    assert "cannot reach the server" in out.stderr


def test_cli_segments_compare_ranks_the_planted_region_first(
    live_server: ServerProcess, traffic: Traffic
) -> None:
    out = run_cli(
        "segments", "compare", traffic.project, "--metric", "error:rate",
        "--key", "metadata.region", url=live_server.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = data_lines(out.stdout)
    assert len(rows) == len(REGIONS)
    ranked = [r for r in rows if r[0] != "-"]
    assert [r[:2] for r in ranked] == [["1", "metadata.region=eu-west"]]
    assert f"total_n: {N_SPANS}" in out.stdout


def test_cli_segments_discover_finds_the_costly_product_line(
    live_server: ServerProcess, traffic: Traffic
) -> None:
    out = run_cli(
        "segments", "discover", traffic.project, "--metric", "cost_usd:mean",
        "--key", "metadata.tier", "--key", "metadata.region", "--key", "metadata.product_line",
        "--since", "48h", url=live_server.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    first = data_lines(out.stdout)[0]
    assert first[:2] == ["1", "metadata.product_line=sales"]


def test_cli_segments_fairness_prints_parity_and_csv(
    live_server: ServerProcess, traffic: Traffic
) -> None:
    args = ("segments", "fairness", traffic.project, "--metric", "error:rate",
            "--key", "metadata.tier", "--min-support", "10")  # fmt: skip
    table = run_cli(*args, url=live_server.url)
    assert table.returncode == 0, table.stderr
    good = 1 - traffic.frame().groupby("tier")["error"].mean()  # favourable: no error
    assert f"parity_ratio: {format_value(float(good.min() / good.max()))}" in table.stdout
    groups = {r[0]: r for r in data_lines(table.stdout)}
    assert set(groups) == {"free", "pro"}
    csv = run_cli(*args, "--csv", url=live_server.url)
    assert csv.returncode == 0, csv.stderr
    lines = csv.stdout.splitlines()
    assert lines[0].startswith("group,n,selected,selection_rate")
    assert len(lines) == 3


def test_cli_segments_versions_prints_the_signal(
    live_server: ServerProcess, traffic: Traffic
) -> None:
    hold = run_cli(
        "segments", "versions", traffic.project, "--baseline", "v1", "--candidate", "v2",
        url=live_server.url,
    )  # fmt: skip
    assert hold.returncode == 0, hold.stderr
    assert "signal: hold" in hold.stdout.splitlines()
    assert "unit: trace" in hold.stdout.splitlines()
    latency = next(r for r in data_lines(hold.stdout) if r[0] == "latency_ms:p95")
    assert latency[1] == "worse"
    promote = run_cli(
        "segments", "versions", traffic.project, "--baseline", "v2", "--candidate", "v1",
        "--key", "version", "-m", "latency_ms:p95", "--json", url=live_server.url,
    )  # fmt: skip
    body = json.loads(promote.stdout)
    assert body["signal"] == "promote"
    assert [m["verdict"] for m in body["metrics"]] == ["better"]


def test_cli_prices_set_show_clear_price_an_unpriced_model(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    project, model = unique("cli-unpriced"), f"acme-cli-{uuid.uuid4().hex[:6]}"
    start_ns = to_unix_ns(SystemClock().now() - timedelta(minutes=5))
    spans = [otlp_span(start_ns + i, 50, llm_attrs(model, 10, 5), False) for i in range(3)]
    post_spans(live_server.url, project, spans)
    unpriced = run_cli("metrics", "unpriced", project, url=live_server.url)
    assert unpriced.returncode == 0, unpriced.stderr
    assert data_lines(unpriced.stdout) == [[model, "3"]]

    table = tmp_path / "prices.yaml"
    table.write_text(
        "api_version: llmpulse/v1\nkind: PriceTable\nprices:\n"
        f"  - model: {model}\n    input: 0.000001\n    output: 2.0e-6\n"
        "    effective_from: 2024-01-01\n"
    )
    put = run_cli("prices", "set", "-f", str(table), url=live_server.url)
    assert put.returncode == 0, put.stderr
    assert data_lines(put.stdout)[0][:2] == ["overrides", model]
    shown = run_cli("prices", "show", "--layer", "overrides", "--json", url=live_server.url)
    assert json.loads(shown.stdout)["overrides"]["prices"][0]["model"] == model
    cleared = run_cli("prices", "clear", url=live_server.url)
    assert (cleared.returncode, cleared.stdout.strip()) == (0, "price overrides cleared")
    after = run_cli("prices", "show", "--json", url=live_server.url)
    assert json.loads(after.stdout)["overrides"] is None


def test_cli_prices_set_exits_1_with_field_errors_when_the_table_is_invalid(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    table = tmp_path / "bad.yaml"
    table.write_text("kind: PriceTable\nprices:\n  - model: m\n    input: 2.5\n    output: 10\n")
    out = run_cli("prices", "set", "-f", str(table), url=live_server.url)
    assert out.returncode == 1
    assert "prices" in out.stderr
    assert "per-1M" in out.stderr
    missing = run_cli("prices", "set", "-f", str(tmp_path / "nope.yaml"), url=live_server.url)
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
