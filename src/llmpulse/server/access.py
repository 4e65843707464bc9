"""Which scope and project each route needs: the access policy, as data over route paths.

Every route needs a scope, by method: reads (GET, HEAD) need ``read``; ingest routes
(`INGEST_ROUTES`) need ``ingest``; every other method needs ``admin``. `PUBLIC_PATHS` need
nothing. A project-scoped key may call a route with a ``{project}`` path parameter only for
its project, and a route without one only when it is in `PROJECT_CHECKED_IN_HANDLER`
(the handler filters or checks the project itself); other routes need an all-projects key.
New routes are covered by these rules without being listed (the security matrix test walks
the app's routes).
"""

from __future__ import annotations

from dataclasses import dataclass

from llmpulse.domain.keys import Principal, Scope
from llmpulse.server.settings import is_loopback_host

# Probes stay public (a load balancer has no key); /readyz is listed ahead of its route.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/ui/login", "/ui/logout", "/favicon.ico"})
PUBLIC_PREFIXES = ("/ui/static/", "/docs-assets/")  # static files, nothing to protect
INGEST_ROUTES = frozenset(
    {
        ("POST", "/v1/traces"),
        ("POST", "/api/v1/projects/{project}/predictions"),
        ("POST", "/api/v1/annotations"),
    }
)
PROJECT_CHECKED_IN_HANDLER = frozenset(
    {
        "/v1/traces",  # a project key's spans all go to its project
        "/api/v1/projects",  # lists only the key's project
        "/api/v1/traces/{trace_id}",
        "/api/v1/spans/{span_id}",
        "/api/v1/spans/{span_id}/annotations",
        "/api/v1/spans/{span_id}/value",
        "/api/v1/audit",  # a project key reads its project's entries only
        "/api/v1/export",  # a project key exports its project (and the receivers)
        "/api/v1/annotations/{annotation_id}",
        "/ui/spans/{span_id}/annotations",
        "/ui/annotations/{annotation_id}/edit",
        "/ui/annotations/{annotation_id}/delete",
        "/",
        "/ui",
        "/ui/",
        "/ui/projects",
        "/ui/traces/{trace_id}",
        "/ui/{rest:path}",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a request needs: a scope (None: public) and the project it touches, if any."""

    scope: Scope | None
    project: str | None
    project_free: bool  # True: a project-scoped key may call it (handler checks the project)


def is_public(path: str) -> bool:
    """True for the few paths anyone may call (health, login page, static assets)."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def requirement(method: str, path: str, template: str | None, project: str | None) -> Requirement:
    """The requirement of one request.

    Args:
        method: the HTTP method.
        path: the request path.
        template: the matched route's path template (``/api/v1/projects/{project}/spans``),
            None when no route matched.
        project: the ``{project}`` path parameter, if the route has one.
    """
    if is_public(path):
        return Requirement(None, None, True)
    if (method, template) in INGEST_ROUTES:
        scope = Scope.INGEST
    elif method in SAFE_METHODS:
        scope = Scope.READ
    else:
        scope = Scope.ADMIN
    free = project is not None or template is None or template in PROJECT_CHECKED_IN_HANDLER
    return Requirement(scope, project, free)


def denial(principal: Principal, need: Requirement) -> str | None:
    """Why ``principal`` may not make the request, or None when it may."""
    if need.scope is None:
        return None
    if not principal.has(need.scope):
        return f"this API key lacks the {need.scope.value!r} scope"
    if principal.project is None:
        return None
    if need.project is not None and not principal.sees(need.project):
        return f"this API key is for project {principal.project!r} only"
    if not need.project_free:
        return "this route needs an API key for all projects"
    return None


def exposure_problem(host: str, insecure: bool, active_keys: int) -> str | None:
    """Why the server must not start on ``host``, or None.

    A loopback bind may run open (no key); any other interface needs at least one active
    API key, or ``--insecure`` to serve it open anyway.
    """
    if is_loopback_host(host) or insecure or active_keys > 0:
        return None
    return (
        f"refusing to serve {host} with no API key: anyone who can reach it could read and "
        "change everything. Create a key first (llmpulse keys create --scope admin "
        "--data-dir DIR), bind to 127.0.0.1, or pass --insecure (LLMPULSE_INSECURE=1) to "
        "serve it open anyway."
    )
