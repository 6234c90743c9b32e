"""What every page needs: the database session, the signed-in officer, the clock, templates."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import Officer
from models.db import session_scope
from models.enums import OfficerRole
from scheduler.clock import Clock, day_label
from scheduler.policy import Policy
from triage.language import language_name
from desk.auth import Forbidden, NotSignedIn, Sessions, SignInLimiter, at_least
from desk.casework import Actor
from desk.cookies import CookieNames

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Web:
    """The app's shared parts; one per app, kept on `app.state.web`."""

    engine: Engine
    policy: Policy
    clock: Clock
    zone: ZoneInfo
    sessions: Sessions
    limiter: SignInLimiter
    secure_cookies: bool
    now: Callable[[], datetime]
    env: jinja2.Environment
    mail_out_configured: bool = True  # an outbound mail relay is set (the dashboard says so when it is not)

    @property
    def cookies(self) -> CookieNames:
        return CookieNames.for_(self.secure_cookies)

    def keep_session(self, response: Response, token: str) -> None:
        """The session cookie, with the same flags whether it is set or cleared (a browser only
        clears a `__Host-` cookie when the flags match)."""
        response.set_cookie(self.cookies.session, token, path="/", secure=self.secure_cookies, httponly=True, samesite="strict")

    def forget_session(self, response: Response) -> None:
        response.delete_cookie(self.cookies.session, path="/", secure=self.secure_cookies, httponly=True, samesite="strict")

    @property
    def today(self) -> date:
        return self.now().astimezone(self.zone).date()


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = lambda d: day_label(d) if d else ""
    env.filters["words"] = lambda v: (v.value if hasattr(v, "value") else str(v or "")).replace("_", " ")
    env.filters["language"] = language_name
    env.filters["pounds"] = lambda pence: f"£{(pence or 0) / 100:,.2f}"
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.0%}"
    return env


@dataclass(frozen=True)
class SignedIn:
    id: int
    name: str
    role: OfficerRole


def web(request: Request) -> Web:
    return request.app.state.web


def db(request: Request) -> Iterator[Session]:
    """One session per request: committed when the route succeeds, rolled back otherwise."""
    with session_scope(web(request).engine) as session:
        yield session


def _before_the_response(dependency):  # type: ignore[no-untyped-def]
    """Run a `yield` dependency's ending (the commit) before the response is sent, so a
    redirect never outruns the commit and a failed commit is an error page, not a lie.
    FastAPI ≥0.121 otherwise ends it after the response; older versions end it before."""
    if "scope" in inspect.signature(Depends).parameters:
        return Depends(dependency, scope="function")
    return Depends(dependency)


DB = _before_the_response(db)


def session_token(request: Request) -> str | None:
    return request.cookies.get(web(request).cookies.session)


def officer(request: Request, session: Session = DB) -> Officer:
    """The signed-in officer (password and, where owed, second factor); anyone else is sent to sign in."""
    found = web(request).sessions.read(session_token(request), session)
    # Kept apart from the ORM object, which a rollback would expire before the page renders.
    request.state.officer = SignedIn(found.id, found.name, found.role)  # type: ignore[arg-type]
    return found


def manager(who: Officer = Depends(officer)) -> Officer:
    if not at_least(who, OfficerRole.manager):
        raise Forbidden("managers and admins only")
    return who


def admin(who: Officer = Depends(officer)) -> Officer:
    if not at_least(who, OfficerRole.admin):
        raise Forbidden("admins only")
    return who


def actor(request: Request, who: Officer = Depends(officer)) -> Actor:
    w = web(request)
    return Actor(who, w.now(), w.zone)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    w = web(request)
    who = getattr(request.state, "officer", None)
    html = w.env.get_template(template).render(
        request=request, me=who, csrf_token=request.state.csrf_token, today=w.today,
        is_manager=bool(who and at_least(who, OfficerRole.manager)),
        is_admin=bool(who and at_least(who, OfficerRole.admin)), **context,
    )
    return HTMLResponse(html, status_code=status)


__all__ = ["DB", "Forbidden", "NotSignedIn", "Web", "actor", "admin", "db", "make_env", "manager", "officer", "render", "web"]
