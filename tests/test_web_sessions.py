"""Sessions, cross-site requests and the sign-in limits, tried the way an attacker or a careless
day would try them. Each test fails on the HMAC-cookie sessions and per-process limiter Heard
had before sessions moved into the database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Officer, OfficerSession, session_scope
from models.enums import OfficerRole
from tests.web_helpers import PASSWORD, Now, add, client, csrf_token, make_app, open_case, sign_in

SESSION = "__Host-heard_session"
CSRF = "__Host-heard_csrf"


def note(c, reference: str, text: str = "rang back", **headers: str):  # type: ignore[no-untyped-def]
    return c.post(f"/cases/{reference}/note", data={"text": text, "csrf_token": csrf_token(c, "/queue")}, headers=headers)


def signin_from(app, name: str, password: str, address: str):  # type: ignore[no-untyped-def]
    """A sign-in attempt from a given client address (a fresh browser each time)."""
    from fastapi.testclient import TestClient

    c = TestClient(app, base_url="https://heard.test", follow_redirects=False, client=(address, 40000))
    return c.post("/signin", data={"name": name, "password": password, "csrf_token": csrf_token(c)})


# --- cross-site requests ---------------------------------------------------------------------

def test_a_token_minted_for_a_planted_cookie_does_not_work_for_a_signed_in_officer(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    reference = open_case(sqlite_engine, "Nobody rang me back.")
    victim = sign_in(app, sqlite_engine, "olu")
    attacker = client(app)
    planted = "a" * 64  # a cookie value the attacker chose, e.g. set from a sibling subdomain
    attacker.cookies.set("__Host-heard_csrf", planted, domain="heard.test")
    attacker.cookies.set("heard_csrf", planted, domain="heard.test")
    minted = csrf_token(attacker)
    victim.cookies.set(CSRF, planted, domain="heard.test")
    response = victim.post(f"/cases/{reference}/note", data={"text": "planted", "csrf_token": minted})
    assert response.status_code == 403
    assert note(victim, reference).status_code == 303  # the page's own token still works


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"origin": "https://heard.test:8443"},  # another port
    {"origin": "https://sub.heard.test"},  # a sibling subdomain
    {"origin": "null"},
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
])
def test_a_post_from_another_site_is_refused_even_with_a_valid_token(sqlite_engine: Engine, headers: dict) -> None:
    app = make_app(sqlite_engine)
    reference = open_case(sqlite_engine, "Nobody rang me back.")
    c = sign_in(app, sqlite_engine, "olu")
    response = note(c, reference, **headers)
    assert response.status_code == 403
    assert "came from another site" in response.text


def test_a_post_from_heard_itself_passes_the_origin_check(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    reference = open_case(sqlite_engine, "Nobody rang me back.")
    c = sign_in(app, sqlite_engine, "olu")
    assert note(c, reference, origin="https://heard.test", **{"sec-fetch-site": "same-origin"}).status_code == 303


def test_the_public_web_chat_refuses_a_post_from_another_site(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    response = client(app).post("/chat", data={"text": "hello"}, headers={"origin": "https://evil.example"})
    assert response.status_code == 403


def test_cookies_carry_the_host_prefix_when_secure_and_plain_names_when_not(sqlite_engine: Engine) -> None:
    secure = client(make_app(sqlite_engine)).get("/signin")
    assert secure.headers["set-cookie"].startswith(f"{CSRF}=") and "Secure" in secure.headers["set-cookie"]
    assert "Domain" not in secure.headers["set-cookie"] and "Path=/" in secure.headers["set-cookie"]
    add(sqlite_engine, "olu")
    c = client(make_app(sqlite_engine))
    signed = c.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(c)})
    assert signed.headers["set-cookie"].startswith(f"{SESSION}=")
    plain = client(make_app(sqlite_engine, secure_cookies=False)).get("/signin")
    assert plain.headers["set-cookie"].startswith("heard_csrf=") and "Secure" not in plain.headers["set-cookie"]


def test_a_form_refused_for_want_of_its_cookie_says_so(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    add(sqlite_engine, "olu")
    token = csrf_token(client(app))
    cookieless = client(app)  # e.g. a script over plain http, where Secure cookies never come back
    response = cookieless.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 403
    assert "did not get its cookie back" in response.text and "https://" in response.text
    assert "has expired" not in response.text
    plain = client(make_app(sqlite_engine, secure_cookies=False))
    response = plain.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": token})
    assert "did not get its cookie back" in response.text and "Secure" not in response.text


# --- sessions --------------------------------------------------------------------------------

def test_a_cookie_copied_before_sign_out_no_longer_works(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    c = sign_in(app, sqlite_engine, "olu")
    copied = c.cookies.get(SESSION)
    assert c.post("/signout", data={"csrf_token": csrf_token(c, "/queue")}).headers["location"] == "/signin"
    thief = client(app)
    thief.cookies.set(SESSION, copied, domain="heard.test")
    assert thief.get("/queue").headers["location"].startswith("/signin")
    with Session(sqlite_engine) as session:
        assert session.exec(select(OfficerSession.ended_why)).all() == ["signed out"]


def test_sign_out_everywhere_ends_every_browser(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    laptop = sign_in(app, sqlite_engine, "olu")
    phone = client(app)
    phone.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(phone)})
    assert phone.get("/queue").status_code == 200
    page = laptop.get("/account")
    assert page.text.count("<tr><td>") == 2 and "(this browser)" in page.text
    laptop.post("/account/signout-everywhere", data={"csrf_token": csrf_token(laptop, "/account")})
    assert phone.get("/queue").status_code == 303
    assert laptop.get("/queue").status_code == 303


def test_an_admin_ends_an_officers_sessions_and_disabling_ends_them_at_once(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    admin = sign_in(app, sqlite_engine, "ada", OfficerRole.admin)
    olu = sign_in(app, sqlite_engine, "olu")
    dee = sign_in(app, sqlite_engine, "dee")
    ids = {o.name: o.id for o in Session(sqlite_engine).exec(select(Officer))}
    page = admin.post(f"/admin/officers/{ids['olu']}/end-sessions", data={"csrf_token": csrf_token(admin, "/admin/officers")})
    assert "Ended 1 session of olu." in page.text
    assert olu.get("/queue").status_code == 303
    assert dee.get("/queue").status_code == 200
    admin.post(f"/admin/officers/{ids['dee']}", data={"role": "officer", "active": "", "csrf_token": csrf_token(admin, "/admin/officers")})
    assert dee.get("/queue").status_code == 303
    with Session(sqlite_engine) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.actor == "ada")).all()
    assert "officer_sessions_ended" in actions and "officer_changed" in actions


def test_a_busy_session_still_ends_at_its_absolute_lifetime(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now, idle_minutes=30, lifetime_hours=12)
    c = sign_in(app, sqlite_engine)
    for _ in range(11 * 4 + 3):  # a request every 15 minutes for 11 h 45 min
        now.later(minutes=15)
        assert c.get("/queue").status_code == 200
    now.later(minutes=16)
    assert c.get("/queue").headers["location"].startswith("/signin")


def test_sessions_hold_across_two_web_processes(sqlite_engine: Engine) -> None:
    """Two apps on one database (as two web processes): a session signed out on one is gone on the other."""
    first, second = make_app(sqlite_engine), make_app(sqlite_engine)
    c = sign_in(first, sqlite_engine, "olu")
    other = client(second)
    other.cookies.set(SESSION, c.cookies.get(SESSION), domain="heard.test")
    assert other.get("/queue").status_code == 200
    c.post("/signout", data={"csrf_token": csrf_token(c, "/queue")})
    assert other.get("/queue").status_code == 303


def test_the_database_keeps_only_a_hash_of_the_session_token(sqlite_engine: Engine) -> None:
    c = sign_in(make_app(sqlite_engine), sqlite_engine, "olu")
    with Session(sqlite_engine) as session:
        stored = session.exec(select(OfficerSession.token_hash)).one()
    assert c.cookies.get(SESSION) not in stored and len(stored) == 64


# --- the sign-in limits ----------------------------------------------------------------------

def test_spacing_and_case_do_not_buy_fresh_guesses(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    add(sqlite_engine, "victim")
    for spelling in ["victim", " victim", "victim ", "VICTIM", "  Victim"]:
        assert signin_from(app, spelling, "guess guess", "10.0.0.9").status_code == 401
    assert signin_from(app, "\tvictim\t", PASSWORD, "10.0.0.9").status_code == 429


def test_a_stranger_cannot_lock_an_officer_out(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    add(sqlite_engine, "olu")
    assert signin_from(app, "olu", PASSWORD, "10.1.1.1").status_code == 303  # olu's own desk
    for attacker in range(30):  # 60 guesses from 30 addresses: past every per-name threshold
        for _ in range(2):
            signin_from(app, "olu", "guess guess", f"203.0.113.{attacker}")
    assert signin_from(app, "olu", PASSWORD, "10.1.1.1").status_code == 303  # still gets in at once
    slowed = signin_from(app, "olu", PASSWORD, "198.51.100.7")  # a new address waits, at most a minute
    assert slowed.status_code == 429 and "Try again in" in slowed.text
    now.later(seconds=61)
    assert signin_from(app, "olu", PASSWORD, "198.51.100.7").status_code == 303


def test_one_address_is_limited_across_names(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    add(sqlite_engine, "olu")
    for n in range(20):
        signin_from(app, f"name{n}", "guess guess", "203.0.113.5")
    assert signin_from(app, "olu", PASSWORD, "203.0.113.5").status_code == 429
    assert signin_from(app, "olu", PASSWORD, "10.1.1.1").status_code == 303


def test_the_limits_hold_across_two_web_processes(sqlite_engine: Engine) -> None:
    first, second = make_app(sqlite_engine), make_app(sqlite_engine)
    add(sqlite_engine, "olu")
    for app in (first, second, first, second, first):
        assert signin_from(app, "olu", "guess guess", "10.0.0.9").status_code == 401
    assert signin_from(second, "olu", PASSWORD, "10.0.0.9").status_code == 429


# --- hosts and names -------------------------------------------------------------------------

def test_an_unknown_host_is_refused_and_links_never_come_from_the_host_header(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)
    assert client(app).get("/signin", headers={"host": "evil.example"}).status_code == 400
    manager = sign_in(app, sqlite_engine, "meg", OfficerRole.manager)
    page = manager.get("/reports?year=2025").text
    assert 'href="/reports/2025.html"' in page and not re.search(r'href="https?:', page)


@pytest.mark.parametrize(("name", "why"), [
    ("evil\u202eeman", "invisible or control characters"),
    ("zero\u200bwidth", "invisible or control characters"),
    ("bell\x07", "invisible or control characters"),
    ("x" * 81, "at most 80 characters"),
])
def test_an_officer_name_cannot_disguise_itself(sqlite_engine: Engine, name: str, why: str) -> None:
    admin = sign_in(make_app(sqlite_engine), sqlite_engine, "ada", OfficerRole.admin)
    page = admin.post("/admin/officers", data={"name": name, "role": "officer", "csrf_token": csrf_token(admin, "/admin/officers")})
    assert page.status_code == 400 and why in page.text
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Officer.name)).all() == ["ada"]
