"""The access policy: which scope each route needs, project limits, exposure, Host parsing."""

from __future__ import annotations

import pytest

from llmpulse.domain.keys import Principal, Scope
from llmpulse.server.access import denial, exposure_problem, requirement
from llmpulse.server.security import host_name
from llmpulse.server.settings import ServerSettings, is_loopback_host

ADMIN = Principal("a", "a", frozenset({Scope.ADMIN}), None)
SHOP_READ = Principal("r", "r", frozenset({Scope.READ}), "shop")
INGEST = Principal("i", "i", frozenset({Scope.INGEST}), None)


@pytest.mark.parametrize(
    ("method", "path", "template", "scope"),
    [
        ("GET", "/healthz", "/healthz", None),
        ("GET", "/ui/login", "/ui/login", None),
        ("POST", "/ui/login", "/ui/login", None),
        ("GET", "/ui/static/app.js", "/ui/static/{rest:path}", None),
        ("POST", "/v1/traces", "/v1/traces", Scope.INGEST),
        ("POST", "/api/v1/annotations", "/api/v1/annotations", Scope.INGEST),
        ("GET", "/api/v1/prices", "/api/v1/prices", Scope.READ),
        ("PUT", "/api/v1/prices", "/api/v1/prices", Scope.ADMIN),
        ("DELETE", "/api/v1/x", None, Scope.ADMIN),
        ("GET", "/nowhere", None, Scope.READ),
    ],
)
def test_scope_by_route_and_method(
    method: str, path: str, template: str | None, scope: Scope | None
) -> None:
    assert requirement(method, path, template, None).scope == scope


def test_project_key_is_held_to_its_project() -> None:
    spans = "/api/v1/projects/{project}/spans"
    assert denial(SHOP_READ, requirement("GET", "/x", spans, "shop")) is None
    assert "shop" in (denial(SHOP_READ, requirement("GET", "/x", spans, "other")) or "")
    prices = requirement("GET", "/api/v1/prices", "/api/v1/prices", None)
    assert "all projects" in (denial(SHOP_READ, prices) or "")
    assert denial(ADMIN, prices) is None
    listing = requirement("GET", "/api/v1/projects", "/api/v1/projects", None)
    assert denial(SHOP_READ, listing) is None  # the handler filters
    assert "'read'" in (denial(INGEST, listing) or "")


def test_non_loopback_bind_needs_a_key_or_insecure() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback_host(host)
        assert exposure_problem(host, False, 0) is None
    for host in ("0.0.0.0", "::", "10.1.2.3", "example.org"):
        assert not is_loopback_host(host)
        problem = exposure_problem(host, False, 0)
        assert problem is not None
        assert "--insecure" in problem
        assert "keys create" in problem
        assert exposure_problem(host, True, 0) is None
        assert exposure_problem(host, False, 1) is None


def test_host_names_default_and_configured() -> None:
    assert ServerSettings().host_names() == {"localhost", "127.0.0.1", "::1"}
    s = ServerSettings(host="10.0.0.5", allowed_hosts=("LLMPulse.example.org", " "))
    assert s.host_names() == {"localhost", "127.0.0.1", "::1", "10.0.0.5", "llmpulse.example.org"}
    assert host_name("[::1]:7600") == "::1"
    assert host_name("Example.org:443") == "example.org"
    assert host_name("example.org") == "example.org"
    assert host_name("::1") == "::1"


def test_openapi_declares_the_bearer_scheme_on_every_route_but_the_probes() -> None:
    from llmpulse.server.app import create_app

    doc = create_app(ServerSettings(data_dir=None, grpc_port=0)).openapi()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if path in ("/healthz", "/readyz"):  # the probes answer without a key
                assert "security" not in op
                continue
            assert op["security"] == [{"bearer": []}, {}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
