"""`AccessControl`: one ASGI layer that checks Host, authenticates, authorizes and stops CSRF.

Order for every HTTP request, before any route reads its body:

1. ``Host`` must be one of the allowed names (DNS rebinding): else 400.
2. The caller is the key of an ``Authorization: Bearer`` token, else of the UI session
   cookie, else nobody. With no active key at all the server is open (allowed on loopback
   only, or with ``--insecure``) and every caller may do everything.
3. The route's requirement (`llmpulse.server.access`) is checked: no or a wrong key is 401
   with ``WWW-Authenticate`` (a UI page redirects to the login page instead), a missing
   scope or another project is 403; both problem+json.
4. A mutating request that does not carry a Bearer token (a browser's) is refused (403) when
   it comes from another origin (``Origin``/``Sec-Fetch-Site``), and a UI form or a request
   with a session must echo the CSRF cookie in the ``csrf_token`` field or ``X-CSRF-Token``.

The principal and the CSRF token are left in ``request.state`` for handlers and templates.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, compile_path

from llmpulse.domain.keys import Principal, Scope
from llmpulse.governance.sessions import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    new_csrf_token,
    same_token,
)
from llmpulse.ingest.responses import error_response
from llmpulse.server.access import SAFE_METHODS, Requirement, denial, requirement
from llmpulse.server.problems import problem
from llmpulse.server.services import Services

Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]

OPEN = Principal("open", "open server (no API keys)", frozenset(Scope), None)
MAX_FORM_BYTES = 65_536
FORBIDDEN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Forbidden · llmpulse</title><link rel="stylesheet" href="/ui/static/style.css"></head>
<body><main><h1>Forbidden</h1><p id="forbidden-reason">{why}.</p>
<p><a href="/ui/projects">Projects</a> · <a href="/ui/login">Sign in with another key</a></p>
</main></body></html>"""
RETRY = {"Retry-After": "1"}
OTLP_PATH = "/v1/traces"  # its errors are google.rpc.Status (ADR 0004)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="llmpulse"'}


def host_name(host_header: str) -> str:
    """The name part of a Host header: ``[::1]:7600`` → ``::1``, ``a.b:80`` → ``a.b``."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def is_ui(path: str) -> bool:
    """True for the UI's pages (they redirect to the login page instead of answering 401)."""
    return path == "/" or path == "/ui" or path.startswith("/ui/")


def bearer(headers: Headers) -> str | None:
    """The token of ``Authorization: Bearer <token>``, else None."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """One route of the app, flattened: its path template, methods and compiled pattern."""

    path: str
    methods: frozenset[str] | None  # None: any (a mount)
    pattern: re.Pattern[str]


def flat_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[RouteInfo]:
    """Every route under ``routes``, included routers opened up, in matching order."""
    for r in routes:
        inner = getattr(r, "original_router", None)  # FastAPI's lazily included routers
        if inner is not None:
            extra = getattr(getattr(r, "include_context", None), "prefix", "") or ""
            yield from flat_routes(inner.routes, prefix + extra)
        elif isinstance(r, Mount):
            path = prefix + r.path + "/{rest:path}"
            yield RouteInfo(path, None, compile_path(path)[0])
        elif isinstance(r, Route | APIRoute):
            path = prefix + r.path
            methods = frozenset(r.methods) if r.methods else None
            yield RouteInfo(path, methods, compile_path(path)[0])


def route_of(table: Sequence[RouteInfo], method: str, path: str) -> tuple[str | None, str | None]:
    """The matched route's path template and ``{project}`` parameter (None, None: no route).

    A path that matches a route only for other methods (a 405 to come) counts as that route.
    """
    partial: tuple[str | None, str | None] = (None, None)
    for info in table:
        m = info.pattern.match(path)
        if m is None:
            continue
        found = (info.path, m.groupdict().get("project"))
        if info.methods is None or method in info.methods:
            return found
        if partial[0] is None:
            partial = found
    return partial


class AccessControl:
    """The ASGI layer described in the module docstring."""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str], open_allowed: bool) -> None:
        """Wrap ``app``.

        Args:
            app: the application.
            allowed_hosts: lower-case names the Host header may carry (``*`` allows any).
            open_allowed: whether the server may run open while no key is active (a loopback
                bind, or ``--insecure``); otherwise revoking the last key locks it.
        """
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.open_allowed = open_allowed
        self._table: list[RouteInfo] | None = None

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        """Check one request, then hand it on (or answer it)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if "*" not in self.allowed_hosts and host_name(host) not in self.allowed_hosts:
            detail = f"Host {host!r} is not one of this server's names (LLMPULSE_ALLOWED_HOSTS)"
            await problem(400, "Invalid Host header", detail)(scope, receive, send)
            return
        services: Services | None = getattr(scope["app"].state, "services", None)
        if services is None:  # not started (or failed to): fail closed
            starting = problem(503, "Unavailable", "the server is starting", headers=RETRY)
            await starting(scope, receive, send)
            return
        if self._table is None:  # routes are fixed once the app serves
            self._table = list(flat_routes(scope["app"].router.routes))
        template, project = route_of(self._table, scope["method"], scope["path"])
        check = _Check(self.app, services, scope, receive, send, headers, self.open_allowed)
        await check.run(template, None if project is None else unquote(project))


class _Check:
    """One request going through `AccessControl`."""

    def __init__(
        self, app: ASGIApp, services: Services, scope: Scope_, receive: Receive, send: Send,
        headers: Headers, open_allowed: bool,
    ) -> None:  # fmt: skip
        self.open_allowed = open_allowed
        self.app, self.services, self.scope = app, services, scope
        self.receive, self.send, self.headers = receive, send, headers
        self.cookies = cookie_parser(headers.get("cookie", ""))
        self.method: str = scope["method"]
        self.path: str = scope["path"]

    async def run(self, template: str | None, project: str | None) -> None:
        need = requirement(self.method, self.path, template, project)
        token = bearer(self.headers)
        principal = self._authenticate(token)
        refusal = self._refusal(need, principal, token is not None)
        if refusal is not None:
            await refusal(self.scope, self.receive, self.send)
            return
        if self.method not in SAFE_METHODS and token is None:
            why = await self._csrf_refusal(principal)
            if why is not None:
                await self._forbidden(why)(self.scope, self.receive, self.send)
                return
        state = self.scope.setdefault("state", {})
        state["principal"] = principal
        csrf = self.cookies.get(CSRF_COOKIE) or ""
        fresh = not csrf and is_ui(self.path)
        state["csrf_token"] = csrf or (new_csrf_token() if fresh else "")
        send = self._with_csrf_cookie(state["csrf_token"]) if fresh else self.send
        await self.app(self.scope, self.receive, send)

    def _authenticate(self, token: str | None) -> Principal | None:
        keys = self.services.keys
        if self.open_allowed and not keys.any_active():
            return OPEN
        if token is not None:
            return keys.verify(token)
        cookie = self.cookies.get(SESSION_COOKIE)
        return self.services.sessions.check(cookie, self.services.clock.now()) if cookie else None

    def _refusal(
        self, need: Requirement, principal: Principal | None, has_token: bool
    ) -> Response | None:
        if need.scope is None:
            return None
        if principal is None:
            if is_ui(self.path) and self.method in SAFE_METHODS and not has_token:
                target = self.path + (f"?{self.scope['query_string'].decode()}"
                                      if self.scope.get("query_string") else "")  # fmt: skip
                return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", 303)
            detail = "a valid API key is required (Authorization: Bearer <key>)"
            if has_token:
                detail = "the API key is unknown or revoked"
            return self._problem(401, "Unauthorized", detail, CHALLENGE)
        why = denial(principal, need)
        return None if why is None else self._forbidden(why)

    def _forbidden(self, why: str) -> Response:
        """403: problem+json, or a short page for a browser on a UI path."""
        if is_ui(self.path) and "text/html" in self.headers.get("accept", ""):
            page = FORBIDDEN_PAGE.format(why=html.escape(why))
            return HTMLResponse(page, status_code=403)
        return self._problem(403, "Forbidden", why)

    def _problem(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> Response:
        """problem+json; on the OTLP route a google.rpc.Status in the request's encoding."""
        if self.path != OTLP_PATH:
            return problem(status, title, detail, headers=headers)
        body, media = error_response(status, title, detail, [], self.headers.get("content-type"))
        return Response(body, status, headers=headers, media_type=media)

    async def _csrf_refusal(self, principal: Principal | None) -> str | None:
        origin = self.headers.get("origin")
        # Host and port, not scheme: behind a TLS proxy the app may see http for an https page.
        if origin is not None and urlsplit(origin).netloc != self.headers.get("host", ""):
            return f"cross-origin request from {origin} refused"
        if self.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return "cross-site request refused"
        with_session = principal is not None and principal is not OPEN
        if not (is_ui(self.path) or with_session):
            return None  # open server, no browser session: a script (curl, SDK)
        sent = self.headers.get(CSRF_HEADER) or await self._form_token()
        if not same_token(sent, self.cookies.get(CSRF_COOKIE)):
            return "missing or wrong CSRF token; reload the page and submit again"
        return None

    async def _form_token(self) -> str | None:
        """The ``csrf_token`` field of a url-encoded form; the body is replayed to the app."""
        if not self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return None
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await self.receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                return None
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await self.receive()

        self.receive = replay
        fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        return fields.get(CSRF_FIELD)

    def _with_csrf_cookie(self, token: str) -> Send:
        secure = "; Secure" if self.scope.get("scheme") == "https" else ""
        cookie = f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"set-cookie", cookie.encode())]
            await self.send(message)

        return send


def only_project(request: Request) -> str | None:
    """The project a project-scoped key is limited to, else None."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return None if principal is None else principal.project
