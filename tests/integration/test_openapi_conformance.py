"""The OpenAPI document matches the server: schemathesis on a small budget (issue 9, item 14).

Every operation of ``/openapi.json`` gets generated requests, valid and invalid, against a real
server on loopback; each answer must be a documented status with a documented content type,
and never a 5xx. The full run (157k cases) found no 5xx; CI runs a few cases per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    status_code_conformance,
)

from support.server import ServerProcess, running_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own: the generated requests change prices and cohorts."""
    data: Path = tmp_path_factory.mktemp("openapi") / "data"
    with running_server(data) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(conformance_server: ServerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{conformance_server.url}/openapi.json")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
EXAMPLES = 5  # per operation and generation mode: a small budget for CI


def _run(operation: schemathesis.APIOperation, mode: GenerationMode) -> list[str]:
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(checks=CHECKS, timeout=30)
        except AssertionError as exc:  # schemathesis' FailureGroup: keep going, report all
            failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:400]}")

    try:
        check()
    except Unsatisfiable:  # no parameter or body to make invalid: nothing to send
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_every_operation_answers_only_documented_statuses(
    api_schema: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        failures.extend(_run(operation, mode))
    assert not failures, "\n".join(dict.fromkeys(failures))
