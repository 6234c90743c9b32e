"""Plain-function helpers for the web app's tests: an app on a test database with a clock
the test moves, officers signed in through the real sign-in form, and cases opened through
the real intake."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from models import Case, Message, session_scope
from models.enums import Channel, Direction, OfficerRole
from scheduler.clock import Clock
from scheduler.policy import load_policy
from triage.intake import Suggestion, take_in
from desk import create_app
from desk.auth import add_officer

LONDON = ZoneInfo("Europe/London")
SECRET = "s" * 40
PASSWORD = "correct horse battery"


@dataclass
class Now:
    """The app's clock: tests move it with `later()`."""

    at: datetime = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday

    def __call__(self) -> datetime:
        return self.at

    def later(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def make_app(engine: Engine, now: Now | None = None, **options):  # type: ignore[no-untyped-def]
    options.setdefault("public_url", "https://heard.test")
    return create_app(engine, load_policy(None), secret_key=SECRET, zone=LONDON, now=now or Now(), **options)


def client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="https://heard.test", follow_redirects=False)


def csrf_token(c: TestClient, path: str = "/signin") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def add(engine: Engine, name: str, role: OfficerRole = OfficerRole.officer, password: str = PASSWORD,
        *, second_factor: bool | None = None) -> int:
    """An officer; managers and admins (who must use one) come enrolled in two-factor sign-in
    with the secret `totp_secret(name)`."""
    with session_scope(engine) as session:
        officer = add_officer(session, name, role, password)
        if second_factor if second_factor is not None else role is not OfficerRole.officer:
            officer.totp_secret, officer.totp_confirmed_at = totp_secret(name), datetime(2026, 1, 1, tzinfo=UTC)
        return officer.id  # type: ignore[return-value]


def totp_secret(name: str) -> str:
    """A fixed base32 secret per test officer, so a test can compute their codes."""
    import base64

    return base64.b32encode(f"heard-test-{name}".encode().ljust(20, b"-")[:20]).decode()


def code_for(name: str, at: datetime) -> str:
    import pyotp

    return pyotp.TOTP(totp_secret(name)).at(at)


def sign_in(app, engine: Engine, name: str = "olu", role: OfficerRole = OfficerRole.officer) -> TestClient:  # type: ignore[no-untyped-def]
    """A client signed in through the real forms: password, then (managers and admins) the code."""
    add(engine, name, role)
    c = client(app)
    response = c.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(c), "next": "/"})
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/signin/code"):
        now = app.state.web.now()
        response = c.post("/signin/code", data={"code": code_for(name, now), "next": "/",
                                                "csrf_token": csrf_token(c, response.headers["location"])})
        assert response.status_code == 303 and response.headers["location"] == "/", response.text
    return c


def form(c: TestClient, path: str, data: dict, page: str = "/queue"):  # type: ignore[no-untyped-def]
    """Post a form the way a browser does: with the page's CSRF token."""
    return c.post(path, data={**data, "csrf_token": csrf_token(c, page)})


def open_case(
    engine: Engine,
    text: str,
    *,
    received: datetime = datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    sender: str = "parent@example.org",
    subject: str = "about my son",
    channel: Channel = Channel.email,
    suggestion: Suggestion | None = None,
    raw: bytes | None = None,
) -> str:
    """Open a case through intake, as the email adapter does; return its reference."""
    with session_scope(engine) as session:
        message = Message(
            dedupe_key=f"test:{sender}:{received.isoformat()}:{text[:20]}", channel=channel, direction=Direction.inbound,
            sender=sender, subject=subject, text=text, clean_text=text, received_at=received,
            raw_bytes=raw if raw is not None else f"Subject: {subject}\r\n\r\n{text}\r\n".encode(),
        )
        session.add(message)
        session.flush()
        outcome = take_in(session, message, clock=Clock(load_policy(None)), zone=LONDON, now=received,
                          classify=(lambda _t: suggestion) if suggestion else None, acknowledge_to=sender)
        return outcome.case.reference


def case(engine: Engine, reference: str) -> Case:
    from sqlmodel import Session, select

    with Session(engine) as session:
        return session.exec(select(Case).where(Case.reference == reference)).one()
