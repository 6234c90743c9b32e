"""Two-factor sign-in as officers meet it: a code after the password for managers and admins,
enrolment by QR code, recovery codes, and an admin's reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Officer
from models.enums import OfficerRole
from scheduler.policy import load_policy
from tests.web_helpers import PASSWORD, Now, add, client, code_for, csrf_token, make_app, sign_in


def password_step(app, name: str):  # type: ignore[no-untyped-def]
    c = client(app)
    response = c.post("/signin", data={"name": name, "password": PASSWORD, "next": "/queue", "csrf_token": csrf_token(c)})
    return c, response


def give_code(c, code: str, page: str = "/signin/code", action: str = "/signin/code"):  # type: ignore[no-untyped-def]
    return c.post(action, data={"code": code, "next": "/queue", "csrf_token": csrf_token(c, page)})


def test_a_manager_needs_the_code_after_the_password(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    add(sqlite_engine, "meg", OfficerRole.manager)
    c, response = password_step(app, "meg")
    assert response.headers["location"] == "/signin/code?next=%2Fqueue"
    assert c.get("/queue").headers["location"].startswith("/signin/code")  # the password alone opens nothing
    assert c.get("/api/queue").status_code == 401
    assert give_code(c, "000000").status_code == 401
    assert give_code(c, code_for("meg", now())).headers["location"] == "/queue"
    assert c.get("/queue").status_code == 200
    with Session(sqlite_engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "signed_in")).one()
    assert event.detail["how"] == "code"


def test_a_code_works_once(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    add(sqlite_engine, "meg", OfficerRole.manager)
    first, _ = password_step(app, "meg")
    code = code_for("meg", now())
    assert give_code(first, code).status_code == 303
    second, _ = password_step(app, "meg")  # someone who saw the code over her shoulder
    assert give_code(second, code).status_code == 401
    now.later(seconds=30)
    assert give_code(second, code_for("meg", now())).status_code == 303


def test_wrong_codes_count_against_the_sign_in_limit(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    add(sqlite_engine, "meg", OfficerRole.manager)
    c, _ = password_step(app, "meg")
    for guess in range(5):
        assert give_code(c, f"{guess:06d}").status_code == 401
    blocked = give_code(c, code_for("meg", now()))
    assert blocked.status_code == 429 and "Too many failed tries" in blocked.text


def test_an_officer_does_not_need_a_code_unless_the_policy_says_everyone(sqlite_engine: Engine) -> None:
    add(sqlite_engine, "olu")
    _, response = password_step(make_app(sqlite_engine), "olu")
    assert response.headers["location"] == "/queue"
    policy = load_policy(None).model_copy(update={"security": load_policy(None).security.model_copy(update={"two_factor": "everyone"})})
    from desk import create_app
    from tests.web_helpers import LONDON, SECRET

    strict = create_app(sqlite_engine, policy, secret_key=SECRET, zone=LONDON, now=Now(), public_url="https://heard.test")
    _, response = password_step(strict, "olu")
    assert response.headers["location"] == "/account/two-factor?next=%2Fqueue"


def enrol(c, now: Now) -> list[str]:  # type: ignore[no-untyped-def]
    page = c.get("/account/two-factor?next=/queue")
    assert page.status_code == 200
    assert re.search(r'<img src="data:image/svg\+xml;[^"]+" alt="QR code', page.text)  # drawn by Heard itself
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page.text).group(1)  # type: ignore[union-attr]
    assert give_code(c, "123456", "/account/two-factor", "/account/two-factor").status_code == 400
    done = give_code(c, pyotp.TOTP(secret).at(now()), "/account/two-factor", "/account/two-factor")
    assert done.status_code == 200 and "shown only now" in done.text
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)


def test_a_new_admin_enrols_with_the_qr_code_and_gets_ten_recovery_codes(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    add(sqlite_engine, "ada", OfficerRole.admin, second_factor=False)
    c, response = password_step(app, "ada")
    assert response.headers["location"] == "/account/two-factor?next=%2Fqueue"
    assert c.get("/admin/officers").status_code == 303  # nothing else until enrolled
    codes = enrol(c, now)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert c.get("/admin/officers").status_code == 200
    with Session(sqlite_engine) as session:
        ada = session.exec(select(Officer)).one()
        assert ada.totp_confirmed_at is not None and codes[0] not in str(ada.recovery_codes)  # only hashes kept


def test_a_recovery_code_signs_in_once(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    add(sqlite_engine, "ada", OfficerRole.admin, second_factor=False)
    c, _ = password_step(app, "ada")
    codes = enrol(c, now)
    lost_phone, _ = password_step(app, "ada")
    assert give_code(lost_phone, codes[3].upper().replace("-", " ")).status_code == 303  # typed loosely, still right
    again, _ = password_step(app, "ada")
    assert give_code(again, codes[3]).status_code == 401
    assert "9 unused recovery codes" in lost_phone.get("/account").text


def test_an_admin_resets_a_lost_second_factor_and_it_is_audited(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    admin = sign_in(app, sqlite_engine, "ada", OfficerRole.admin)
    meg = sign_in(app, sqlite_engine, "meg", OfficerRole.manager)
    meg_id = Session(sqlite_engine).exec(select(Officer.id).where(Officer.name == "meg")).one()
    page = admin.post(f"/admin/officers/{meg_id}/reset-second-factor", data={"csrf_token": csrf_token(admin, "/admin/officers")})
    assert "meg will set up two-factor sign-in again" in page.text
    assert meg.get("/queue").status_code == 303  # her sessions ended with it
    c, response = password_step(app, "meg")
    assert response.headers["location"] == "/account/two-factor?next=%2Fqueue"
    now.later(seconds=60)
    enrol(c, now)
    with Session(sqlite_engine) as session:
        reset = session.exec(select(AuditEvent).where(AuditEvent.action == "second_factor_reset")).one()
    assert reset.actor == "ada" and reset.detail["name"] == "meg"


def test_an_officer_can_turn_it_on_from_their_account(sqlite_engine: Engine) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    c = sign_in(app, sqlite_engine, "olu")
    assert "Set up two-factor sign-in" in c.get("/account").text
    enrol(c, now)
    now.later(minutes=1)
    _, response = password_step(app, "olu")
    assert response.headers["location"].startswith("/signin/code")


@pytest.mark.parametrize("drift", [-30, 0, 30])
def test_a_code_from_a_phone_a_little_out_of_step_is_accepted(sqlite_engine: Engine, drift: int) -> None:
    now = Now()
    app = make_app(sqlite_engine, now)
    add(sqlite_engine, "meg", OfficerRole.manager)
    c, _ = password_step(app, "meg")
    assert give_code(c, code_for("meg", now() + timedelta(seconds=drift))).status_code == 303
