"""Monitors, silences, receivers and audit pages in a real Chromium against a real server."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from fakes.http_receiver import HttpReceiver
from fakes.slack import slack_receiver
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.browser


@dataclass
class Rig:
    """A server whose SLACK_URL points at a Slack fake."""

    server: ServerProcess
    slack: HttpReceiver


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    data_dir = tmp_path_factory.mktemp("ui-config") / "data"
    with slack_receiver() as slack:
        env = {"SLACK_URL": slack.url + "/services/T000/B000/XXXX"}
        server = ServerProcess(data_dir, free_port(), 0, env=env)
        server.start()
        try:
            yield Rig(server, slack)
        finally:
            server.stop()


def _project() -> str:
    return f"ui-cfg-{uuid.uuid4().hex[:6]}"


def test_create_a_monitor_with_field_errors_then_yaml_then_delete(page: Page, rig: Rig) -> None:
    project = _project()
    base = f"{rig.server.url}/ui/projects/{project}"
    page.goto(f"{base}/monitors")
    expect(page.locator("#no-monitors")).to_be_visible()
    expect(page.locator("#nav-monitors")).to_have_class(re.compile("on"))
    page.click("#new-monitor")
    page.fill("#m-name", "checkout-latency")
    page.fill("#m-metric", "latency_ms:p95")
    page.fill("#m-window", "soon")
    page.select_option("#m-detector", "p_chart")
    page.click("#save-monitor")
    error = page.locator('.field-error[data-path="spec.window"]')
    expect(error).to_contain_text("not a duration")
    expect(page.locator("#m-name")).to_have_value("checkout-latency")  # kept as typed
    expect(page.locator("#m-detector")).to_have_value("p_chart")
    page.fill("#m-window", "15m")
    page.fill("#m-segment_by", "metadata.region")
    page.select_option("#m-severity", "critical")
    page.click("#save-monitor")
    expect(page).to_have_url(f"{base}/monitors")
    row = page.locator('tr[data-monitor="checkout-latency"]')
    expect(row.locator(".monitor-metric")).to_have_text("latency_ms:p95")
    expect(row.locator(".monitor-detector")).to_have_text("p_chart")
    expect(row.locator(".monitor-timing")).to_have_text("1m / 15m")
    expect(row.locator(".monitor-severity")).to_have_text("critical")
    expect(row.locator(".monitor-enabled")).to_have_text("yes")
    # The server's scheduler reports the state: the project has no spans, so the segmented
    # monitor has no alert series yet and shows ok.
    expect(row.locator(".monitor-state")).to_have_text("ok")

    page.click("#new-monitor")
    page.fill(
        "#m-manifest",
        "apiVersion: llmpulse/v1\nkind: Monitor\nmetadata: {name: errors}\n"
        "spec: {metric: 'error:rate', window: 5m, enabled: false, min_samples: 0}\n",
    )
    page.click("#save-monitor")
    expect(page.locator("#page-errors")).to_contain_text("spec.min_samples")
    page.fill("#m-manifest", page.locator("#m-manifest").input_value().replace("0}", "30}"))
    page.click("#save-monitor")
    expect(page.locator('tr[data-monitor="errors"] .monitor-enabled')).to_have_text("no")

    page.locator('tr[data-monitor="checkout-latency"] .edit-monitor').click()
    expect(page.locator("#m-window")).to_have_value("15m")
    page.fill("#m-window", "20m")
    page.click("#save-monitor")
    expect(page.locator('tr[data-monitor="checkout-latency"] .monitor-timing')).to_have_text(
        "1m / 20m"
    )
    page.locator('tr[data-monitor="errors"] .delete-monitor').click()
    expect(page.locator('tr[data-monitor="errors"]')).to_have_count(0)
    got = httpx.get(f"{rig.server.url}/api/v1/projects/{project}/monitors").json()["data"]
    assert [m["metadata"]["name"] for m in got] == ["checkout-latency"]
    assert got[0]["spec"]["window"] == "20m"

    page.goto(f"{rig.server.url}/ui/audit?kind=Monitor&project={project}")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.locator(".audit-action")).to_have_text(["delete", "update", "create", "create"])
    expect(rows.locator(".audit-actor")).to_have_text(["ui"] * 4)
    expect(rows.nth(1).locator(".audit-after")).to_contain_text("window: 20m")


def test_silences_add_show_errors_and_expire(page: Page, rig: Rig) -> None:
    project = _project()
    page.goto(f"{rig.server.url}/ui/projects/{project}/silences")
    expect(page.locator("#no-silences")).to_be_visible()
    page.fill("#s-matchers", 'monitor=~"("')
    page.click("#add-silence")
    expect(page.locator("#page-errors")).to_contain_text("spec.matchers")
    expect(page.locator("#s-matchers")).to_have_value('monitor=~"("')
    page.fill("#s-matchers", 'monitor="checkout-latency"\nregion="eu-west"')
    page.fill("#s-duration", "1h")
    page.fill("#s-comment", "planned deploy")
    page.click("#add-silence")
    row = page.locator("#silences-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".silence-state")).to_have_text("active")
    expect(row.locator(".silence-matchers .chip")).to_have_text(
        ['monitor="checkout-latency"', 'region="eu-west"']
    )
    row.locator(".expire-silence").click()
    expect(page.locator("#silences-table .silence-state")).to_have_text("expired")
    page.click("#silence-states >> text=active")
    expect(page.locator("#no-silences")).to_be_visible()


def test_receivers_page_sends_a_test_notification_and_shows_the_outcome(
    page: Page, rig: Rig
) -> None:
    tag = uuid.uuid4().hex[:6]
    for name, env in ((f"slack-{tag}", "SLACK_URL"), (f"broken-{tag}", "UNSET_VARIABLE")):
        spec = {"type": "slack", "settings": {"urlFromEnv": env}}
        r = httpx.put(f"{rig.server.url}/api/v1/receivers/{name}", json={"spec": spec})
        assert r.status_code == 200, r.text
    before = len(rig.slack.requests)
    page.goto(f"{rig.server.url}/ui/projects")
    page.click("#top-receivers")
    row = page.locator(f'tr[data-receiver="slack-{tag}"]')
    expect(row.locator(".receiver-settings")).to_have_text("urlFromEnv: SLACK_URL")
    row.locator(".test-receiver").click()
    outcome = page.locator("#test-outcome")
    expect(outcome).to_contain_text(f"Test notification to slack-{tag}: delivered")
    expect(outcome).to_contain_text("HTTP 200")
    assert len(rig.slack.requests) == before + 1
    assert json.loads(rig.slack.requests[-1].body)["text"] == "[FIRING:1] llmpulse-test"
    page.locator(f'tr[data-receiver="broken-{tag}"] .test-receiver').click()
    expect(outcome).to_contain_text("failed")
    expect(outcome).to_contain_text("UNSET_VARIABLE is not set")


STACK = Path(__file__).resolve().parents[1] / "data" / "config" / "stack.yaml"


def test_config_page_plans_applies_and_reapplying_the_export_changes_nothing(
    page: Page, rig: Rig
) -> None:
    project = _project()
    text = STACK.read_text().replace("rag-demo", project)
    text = text.replace("oncall-slack", f"slack-{project}").replace("oncall-pager", f"pd-{project}")
    page.goto(f"{rig.server.url}/ui/config")
    page.fill("#c-manifests", text.replace("window: 10m", "window: later"))
    page.click("#show-plan")
    expect(page.locator("#page-errors")).to_contain_text("doc 3: spec.window:")
    page.fill("#c-manifests", text)
    page.click("#show-plan")
    expect(page.locator("#plan")).to_have_attribute("data-applied", "no")
    expect(page.locator("#plan-lines")).to_contain_text(f"+ create Monitor {project}/errors")
    expect(page.locator("#plan-counts")).to_have_text(
        "6 to create, 0 to update, 0 to delete, 0 unchanged"
    )
    assert httpx.get(f"{rig.server.url}/api/v1/projects/{project}/monitors").json()["data"] == []
    page.click("#apply-config")
    expect(page.locator("#plan")).to_have_attribute("data-applied", "yes")
    monitors = httpx.get(f"{rig.server.url}/api/v1/projects/{project}/monitors").json()["data"]
    assert [m["metadata"]["name"] for m in monitors] == ["checkout-latency", "errors"]

    page.goto(f"{rig.server.url}/ui/config?export=1&project={project}")
    exported = page.locator("#c-manifests").input_value()
    assert exported.count("kind: Monitor") == 2
    assert "urlFromEnv: SLACK_URL" in exported
    assert "inhibit_rules:" in exported
    page.click("#show-plan")
    expect(page.locator("#plan-counts")).to_contain_text("0 to create, 0 to update, 0 to delete")
    page.fill("#c-manifests", text.replace("window: 30m", "window: 45m"))
    page.click("#show-plan")
    expect(page.locator("#plan-lines")).to_contain_text("spec.window: 30m -> 45m")
