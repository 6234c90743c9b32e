"""The officers' web app: sign-in, the triage queue, case pages, the dashboard, the JSON API.

Every route needs a signed-in officer except sign-in, the health and readiness checks, the stylesheet
and script, and the public web chat (mounted by its own issue); /metrics takes an admin or a token. Every form and API change is CSRF-checked
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
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from scheduler.clock import Clock
from scheduler.policy import Policy
from reports.web import report_router
from desk import deps
from models import values
from desk.account import quote as _quote
from desk.auth import Forbidden, NotSignedIn, SecondFactorOwed, Sessions, SignInLimiter
from desk.csrf import MAX_FORM_BYTES, CSRFMiddleware
from desk.request_id import RequestLog
from triage.intake import Classify

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
    classify: Classify | None = None,
    attachment_max_bytes: int = 10 * 1024 * 1024,
    mail_out_configured: bool = True,
    metrics_token: str = "",
    ready_parts: Sequence[str] = ("email", "scheduler"),
) -> FastAPI:
    """Build the app. `officer_routers` are mounted behind sign-in with a minimum role
    ("officer", "manager" or "admin"); `public_routers` (the web chat) are not. Without a
    policy the built-in one is used; without a key, the one kept in var/secret_key.
    `classify` reads the representations officers log (none: each needs review by hand);
    `attachment_max_bytes` is the largest scanned letter they may add. Without
    `mail_out_configured` (no outbound relay), the dashboard says email is not going out.
    /metrics opens to an admin's session or `Authorization: Bearer <metrics_token>` (desk/metrics.py);
    /readyz wants a live heartbeat from each of `ready_parts` (desk/readiness.py).

    Requests are answered only for the host of `public_url`, loopback names and `allowed_hosts`
    (others get 400); links are paths, never built on a Host header a client chooses."""
    from scheduler.policy import load_policy
    from desk.auth import load_or_create_secret

    policy = policy or load_policy(None)
    secret_key = secret_key or load_or_create_secret(Path("var") / "secret_key")
    if len(secret_key) < 16:
        raise ValueError("the web app's secret key must be at least 16 characters")
    from desk import (account, acknowledging, admin, api, attachments, case, dashboard, extensions, queue_page, replies,
                      reply_templates, search_page)
    from desk import holds, rights  # retention, legal holds, correction and erasure (managers)
    from desk.representations import representations_router
    from desk import metrics, readiness

    app = FastAPI(title="Heard", description="Officers' API: the triage queue and cases.",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = deps.Web(
        engine=engine, policy=policy, clock=Clock(policy), zone=zone,
        sessions=Sessions(idle_minutes * 60, int(lifetime_hours * 3600), now), limiter=SignInLimiter(),
        secure_cookies=secure_cookies, now=now, env=deps.make_env(), mail_out_configured=mail_out_configured,
    )
    app.state.web.env.globals["acknowledge_by_hand"] = acknowledging.by_hand  # the case page's "acknowledge by post or phone"
    holds.install(app.state.web)  # the case page's "on legal hold"
    from desk import subject_access_page
    app.state.web.env.globals["subject_access_due"] = subject_access_page.due_panel  # the dashboard's panel

    @app.middleware("http")
    async def no_store(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("cache-control", "no-store")
        return response

    public = urlsplit(public_url)
    app.add_middleware(CSRFMiddleware, secret=secret_key, secure=secure_cookies, exempt=csrf_exempt,
                       public_origin=f"{public.scheme}://{public.netloc}" if public.netloc else "",
                       max_upload_bytes=attachment_max_bytes + MAX_FORM_BYTES)  # a scan and the form around it
    hosts = {"localhost", "127.0.0.1", *allowed_hosts} | ({public.hostname} if public.hostname else set())
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=sorted(h for h in hosts if h))
    app.add_middleware(RequestLog)  # outermost: every request, refused or not, has an id, a log line and its time

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if isinstance(exc, SecondFactorOwed):
            return RedirectResponse(f"/signin/code?next={_quote(target)}", status_code=303)
        response = RedirectResponse(f"/signin?next={_quote(target)}", status_code=303)
        deps.web(request).forget_session(response)
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return deps.render(request, "message.html", status=403, title="Not for your role",
                           text=f"This page is for {exc}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        text = "There is no such page." if exc.status_code == 405 or exc.detail == "Not Found" else str(exc.detail)
        return _error_page(request, exc.status_code, text, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _not_understood(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        return _error_page(request, 422, values.plain_words(exc.errors()))

    @app.exception_handler(values.BadValue)
    async def _bad_value(request: Request, exc: values.BadValue) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return _error_page(request, 400, str(exc))

    checked = Depends(_checked)
    app.include_router(_public_router(), dependencies=[checked])
    app.include_router(readiness.router(ready_parts))
    app.include_router(metrics.router(metrics_token))
    for router in (account.router, dashboard.router, queue_page.router, case.router, admin.router, api.router,
                   search_page.router, attachments.router, replies.router, reply_templates.router,
                   representations_router(classify, attachment_max_bytes), extensions.router, holds.router, rights.router,
                   subject_access_page.router):
        app.include_router(router, dependencies=[checked])
    # The annual report (reports), for managers and admins.
    reports = report_router(engine, policy, tz=zone, today=lambda: now().astimezone(zone).date(),
                            page=lambda request, context: deps.render(request, "report.html", **context))
    from desk.report_downloads import audit_report_download
    for router, role in [(reports, "manager"), *officer_routers]:
        needed = {"officer": deps.officer, "manager": deps.manager, "admin": deps.admin}[role]
        audited = [Depends(audit_report_download)] if router is reports else []
        app.include_router(router, dependencies=[checked, Depends(needed), *audited])
    for router in public_routers:
        app.include_router(router)
    return app


TITLES = {400: "Not understood", 404: "Not found", 405: "Not allowed", 413: "Too large", 422: "Not understood",
          429: "Too many tries"}


def _error_page(request: Request, status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """A refusal as a page in the app's layout (never raw JSON on a page meant for people)."""
    response = deps.render(request, "message.html", status=status, title=TITLES.get(status, "That did not work"), text=text)
    response.headers.update(headers or {})
    return response


async def _checked(request: Request) -> None:
    """Every officers' route: no value that cannot be stored (a NUL) gets past the door."""
    form = await request.form() if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")) else None
    values.without_nul([*request.query_params.multi_items(), *(form.multi_items() if form else ())])


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
