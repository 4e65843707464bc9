"""The login page: sign in to the UI with an API key; sign out.

``GET /ui/login`` shows the form; ``POST /ui/login`` (fields ``key``, ``next``,
``csrf_token``) checks the key and, for a key with the ``read`` or ``admin`` scope, sets the
session cookie (HttpOnly, SameSite=Strict, Secure over https) and redirects (303) to ``next``;
a wrong key re-shows the form with status 401. ``POST /ui/logout`` clears the cookie. The
server's access layer has already checked the CSRF token of both posts.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.domain.keys import Scope
from llmpulse.governance.keys import KeyService
from llmpulse.governance.sessions import SESSION_COOKIE, SessionSigner
from llmpulse.ui.templating import Renderer

MAX_FORM_BYTES = 8_192
HOME = "/ui/projects"


def safe_next(value: str) -> str:
    """Where to go after signing in: a local path only (never another site)."""
    ok = value.startswith("/") and not value.startswith("//") and "\\" not in value
    return value if ok else HOME


async def _fields(request: Request) -> dict[str, str]:
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def build_login_router(render: Renderer) -> APIRouter:
    """The login and logout routes, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    def show(request: Request, next_url: str, error: str, status: int) -> Response:
        context = {"title": "Sign in", "next": next_url, "error": error}
        return render.page(request, "login.html", context, status_code=status)

    @router.get("/ui/login", response_class=HTMLResponse)
    async def login_page(request: Request, next: str = HOME) -> Response:
        return show(request, safe_next(next), "", 200)

    @router.post("/ui/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        fields = await _fields(request)
        next_url = safe_next(fields.get("next", HOME))
        services = request.app.state.services
        keys: KeyService = services.keys
        principal = keys.verify(fields.get("key", "").strip())
        if principal is None:
            return show(request, next_url, "That key is unknown or revoked.", 401)
        if not principal.has(Scope.READ):
            return show(request, next_url, "That key cannot read (it has no read scope).", 403)
        sessions: SessionSigner = services.sessions
        cookie = sessions.issue(principal, services.clock.now())
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            SESSION_COOKIE, cookie, max_age=int(sessions.lifetime.total_seconds()), path="/",
            httponly=True, samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip
        return response

    @router.post("/ui/logout")
    async def logout(request: Request) -> Response:
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="strict",
            secure=request.url.scheme == "https",
        )  # fmt: skip
        return response

    return router
