"""Signing in to the officers' web app: who gets in, for how long, and what each role sees."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Officer, session_scope
from models.enums import OfficerRole
from tests.web_helpers import PASSWORD, Now, add, client, csrf_token, make_app, open_case, sign_in
from desk.auth import hash_password, load_or_create_secret

SESSION_COOKIE = "__Host-heard_session"
PUBLIC = {"/signin", "/signout", "/healthz", "/readyz", "/static/heard.css", "/static/heard.js"}
SCRAPED = {"/metrics"}  # for a scraper too: a stranger gets 401, not the sign-in page (tests/test_metrics.py)
# The second step of sign-in: only for a session whose password was right (others go to /signin).
SECOND_STEP = {"/signin/code", "/account/two-factor"}


def every_route(routes):  # type: ignore[no-untyped-def]
    """Each route of the app, looking inside included routers (FastAPI keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from every_route(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def test_every_page_but_sign_in_health_and_styles_sends_a_stranger_to_sign_in(engine: Engine) -> None:
    app = make_app(engine)
    reference = open_case(engine, "Nobody rang me back.")
    c = client(app)
    walked = 0
    for route in every_route(app.routes):
        if route.path in PUBLIC | SECOND_STEP:
            continue
        if route.path in SCRAPED:
            assert c.get(route.path).status_code == 401
            continue
        path = route.path.replace("{reference}", reference).replace("{message_id}", "1").replace("{officer_id}", "1")
        for method in route.methods:
            token = {"csrf_token": csrf_token(c)} if method == "POST" else None
            response = c.request(method, path, data=token)
            walked += 1
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
            else:
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/signin?next="), (method, path)
    assert walked >= 25


def test_the_health_check_stays_open_and_says_the_database_is_up(engine: Engine) -> None:
    response = client(make_app(engine)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_an_officer_signs_in_and_lands_where_they_were_going(engine: Engine) -> None:
    app = make_app(engine)
    add(engine, "olu")
    c = client(app)
    first = c.get("/queue?review=all")
    assert first.headers["location"] == "/signin?next=%2Fqueue%3Freview%3Dall"
    page = c.get(first.headers["location"])
    assert 'value="/queue?review=all"' in page.text
    response = c.post("/signin", data={"name": "olu", "password": PASSWORD, "next": "/queue?review=all", "csrf_token": csrf_token(c)})
    assert response.status_code == 303
    assert response.headers["location"] == "/queue?review=all"
    assert c.get("/queue").status_code == 200
    with Session(engine) as session:
        assert session.exec(select(AuditEvent.action).where(AuditEvent.actor == "olu")).all() == ["signed_in"]


def test_the_session_cookie_is_secure_http_only_and_same_site(engine: Engine) -> None:
    app = make_app(engine)
    add(engine, "olu")
    c = client(app)
    response = c.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(c)})
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_sign_in_never_redirects_off_the_site(engine: Engine, target: str) -> None:
    app = make_app(engine)
    add(engine, "olu")
    c = client(app)
    response = c.post("/signin", data={"name": "olu", "password": PASSWORD, "next": target, "csrf_token": csrf_token(c)})
    assert response.headers["location"] == "/"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(engine: Engine) -> None:
    app = make_app(engine)
    add(engine, "olu")
    c = client(app)
    wrong = c.post("/signin", data={"name": "olu", "password": "not it at all", "csrf_token": csrf_token(c)})
    nobody = c.post("/signin", data={"name": "nobody", "password": PASSWORD, "csrf_token": csrf_token(c)})
    for response in (wrong, nobody):
        assert response.status_code == 401
        assert "That name and password do not match an active officer." in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_sign_in_is_rate_limited_after_five_failures(engine: Engine) -> None:
    app = make_app(engine)
    add(engine, "olu")
    c = client(app)
    for _ in range(5):
        assert c.post("/signin", data={"name": "olu", "password": "guess guess", "csrf_token": csrf_token(c)}).status_code == 401
    blocked = c.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(c)})
    assert blocked.status_code == 429
    assert "Too many failed tries. Try again in 15 minutes." in blocked.text


def test_a_session_ends_after_the_idle_timeout_but_not_while_in_use(engine: Engine) -> None:
    now = Now()
    app = make_app(engine, now, idle_minutes=30)
    c = sign_in(app, engine)
    for _ in range(4):  # busy for 100 minutes, never 30 idle
        now.later(minutes=25)
        assert c.get("/queue").status_code == 200
    now.later(minutes=31)
    assert c.get("/queue").headers["location"].startswith("/signin")


def test_signing_out_ends_the_session(engine: Engine) -> None:
    c = sign_in(make_app(engine), engine)
    response = c.post("/signout", data={"csrf_token": csrf_token(c, "/queue")})
    assert response.headers["location"] == "/signin"
    assert c.get("/queue").status_code == 303


def test_deactivating_an_officer_or_changing_their_password_ends_their_sessions(engine: Engine) -> None:
    app = make_app(engine)
    c = sign_in(app, engine, "olu")
    with session_scope(engine) as session:
        session.exec(select(Officer).where(Officer.name == "olu")).one().password_hash = hash_password("a brand new password")
    assert c.get("/queue").status_code == 303
    d = sign_in(app, engine, "dee")
    with session_scope(engine) as session:
        session.exec(select(Officer).where(Officer.name == "dee")).one().active = False
    assert d.get("/queue").status_code == 303


def test_a_tampered_session_cookie_is_refused(engine: Engine) -> None:
    app = make_app(engine)
    c = sign_in(app, engine, "olu")
    cookie = c.cookies.get(SESSION_COOKIE)
    c.cookies.set(SESSION_COOKIE, ("A" if cookie[0] != "A" else "B") + cookie[1:], domain="heard.test")
    assert c.get("/queue").status_code == 303


@pytest.mark.parametrize(("role", "audit", "officers", "team_table"), [
    (OfficerRole.officer, 403, 403, False),
    (OfficerRole.manager, 200, 403, True),
    (OfficerRole.admin, 200, 200, True),
])
def test_each_role_sees_what_it_should(engine: Engine, role: OfficerRole, audit: int, officers: int, team_table: bool) -> None:
    from models import Team

    with session_scope(engine) as session:
        session.add(Team(name="Leaving Care"))
    c = sign_in(make_app(engine), engine, "someone", role)
    assert c.get("/audit").status_code == audit
    assert c.get("/admin/officers").status_code == officers
    assert c.get("/admin/policy").status_code == officers
    assert ("Team performance" in c.get("/").text) is team_table


def test_an_admin_adds_an_officer_who_can_then_sign_in(engine: Engine) -> None:
    app = make_app(engine)
    admin = sign_in(app, engine, "ada", OfficerRole.admin)
    page = admin.post("/admin/officers", data={"name": "new person", "role": "officer", "csrf_token": csrf_token(admin, "/admin/officers")})
    import re

    password = re.search(r'<code id="new-password">([^<]+)</code>', page.text).group(1)  # type: ignore[union-attr]
    c = client(app)
    response = c.post("/signin", data={"name": "new person", "password": password, "csrf_token": csrf_token(c)})
    assert response.status_code == 303


def test_the_first_start_makes_an_admin_whose_password_is_shown_once(engine: Engine) -> None:
    from desk.auth import first_admin

    password = first_admin(engine)
    assert password and len(password) >= 20
    assert first_admin(engine) is None  # never again: an officer exists
    c = client(make_app(engine))
    response = c.post("/signin", data={"name": "admin", "password": password, "csrf_token": csrf_token(c)})
    assert response.status_code == 303  # an admin sets up two-factor sign-in first
    assert response.headers["location"] == "/account/two-factor?next=%2F"
    assert c.get("/admin/officers").headers["location"].startswith("/signin/code")


def test_the_session_key_is_made_once_and_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "var" / "secret_key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert load_or_create_secret(path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_annual_report_is_for_managers_and_admins(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    assert client(app).get("/reports").headers["location"] == "/signin?next=%2Freports"
    assert sign_in(app, sqlite_engine, "olu").get("/reports").status_code == 403
    page = sign_in(app, sqlite_engine, "meg", OfficerRole.manager).get("/reports")
    assert page.status_code == 200 and "Financial year" in page.text
