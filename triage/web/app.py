"""The officers' web app: sign-in, the triage queue, case pages, the dashboard, the JSON API.

Every route needs a signed-in officer except sign-in, the health check, the stylesheet and script, and
the public web chat (mounted by its own issue). Every form and API change is CSRF-checked
by `CSRFMiddleware`, before any route runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from scheduler.clock import Clock
from scheduler.policy import Policy
from triage.report.web import report_router
from triage.web import deps
from triage.web.account import quote as _quote
from triage.web.auth import Forbidden, NotSignedIn, SecondFactorOwed, Sessions, SignInLimiter
from triage.web.csrf import CSRFMiddleware

STATIC = Path(__file__).parent / "static"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(
    engine: Engine,
    policy: Policy | None = None,
    *,
    secret_key: str = "",
    zone: ZoneInfo = ZoneInfo("Europe/London"),
    idle_minutes: int = 30,
    lifetime_hours: float = 12,
    secure_cookies: bool = True,
    public_url: str = "",
    allowed_hosts: Sequence[str] = (),
    now: Callable[[], datetime] = _utcnow,
    officer_routers: Sequence[tuple[APIRouter, str]] = (),
    public_routers: Sequence[APIRouter] = (),
    csrf_exempt: tuple[str, ...] = ("/chat",),
) -> FastAPI:
    """Build the app. `officer_routers` are mounted behind sign-in with a minimum role
    ("officer", "manager" or "admin"); `public_routers` (the web chat) are not. Without a
    policy the built-in one is used; without a key, the one kept in var/secret_key.

    Requests are answered only for the host of `public_url`, loopback names and `allowed_hosts`
    (others get 400); links are paths, never built on a Host header a client chooses."""
    from scheduler.policy import load_policy
    from triage.web.auth import load_or_create_secret

    policy = policy or load_policy(None)
    secret_key = secret_key or load_or_create_secret(Path("var") / "secret_key")
    if len(secret_key) < 16:
        raise ValueError("the web app's secret key must be at least 16 characters")
    from triage.web import account, admin, api, case, dashboard, queue_page

    app = FastAPI(title="Heard", description="Officers' API: the triage queue and cases.",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = deps.Web(
        engine=engine, policy=policy, clock=Clock(policy), zone=zone,
        sessions=Sessions(idle_minutes * 60, int(lifetime_hours * 3600), now), limiter=SignInLimiter(),
        secure_cookies=secure_cookies, now=now, env=deps.make_env(),
    )

    @app.middleware("http")
    async def no_store(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("cache-control", "no-store")
        return response

    public = urlsplit(public_url)
    app.add_middleware(CSRFMiddleware, secret=secret_key, secure=secure_cookies, exempt=csrf_exempt,
                       public_origin=f"{public.scheme}://{public.netloc}" if public.netloc else "")
    hosts = {"localhost", "127.0.0.1", *allowed_hosts} | ({public.hostname} if public.hostname else set())
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=sorted(h for h in hosts if h))

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if isinstance(exc, SecondFactorOwed):
            return RedirectResponse(f"/signin/code?next={_quote(target)}", status_code=303)
        response = RedirectResponse(f"/signin?next={_quote(target)}", status_code=303)
        w = deps.web(request)
        response.delete_cookie(w.cookies.session, path="/", secure=w.secure_cookies, httponly=True, samesite="strict")
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return deps.render(request, "message.html", status=403, title="Not for your role",
                           text=f"This page is for {exc}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or exc.status_code not in (404, 405):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        title = "Not found" if exc.status_code == 404 else "Not allowed"
        text = str(exc.detail) if exc.status_code == 404 and exc.detail != "Not Found" else "There is no such page."
        return deps.render(request, "message.html", status=exc.status_code, title=title, text=text)

    app.include_router(_public_router())
    for router in (account.router, dashboard.router, queue_page.router, case.router, admin.router, api.router):
        app.include_router(router)
    # The annual report (triage/report), for managers and admins.
    reports = report_router(engine, policy, tz=zone, today=lambda: now().astimezone(zone).date(),
                            page=lambda request, context: deps.render(request, "report.html", **context))
    for router, role in [(reports, "manager"), *officer_routers]:
        needed = {"officer": deps.officer, "manager": deps.manager, "admin": deps.admin}[role]
        app.include_router(router, dependencies=[Depends(needed)])
    for router in public_routers:
        app.include_router(router)
    return app


def _public_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", tags=["health"])
    def health(request: Request) -> JSONResponse:
        """200 when the database answers, 503 when it does not (so a load balancer can tell)."""
        try:
            with deps.web(request).engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @router.get("/static/heard.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        return FileResponse(STATIC / "heard.css", media_type="text/css")

    @router.get("/static/heard.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(STATIC / "heard.js", media_type="text/javascript")

    return router
