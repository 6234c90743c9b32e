"""Who looked at what: sign-ins, failed sign-ins, searches and downloads (raw email, attachment,
the report's CSV) each leave an audit entry, and the chain stays whole."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import AuditEvent, Message, session_scope
from models.audit_chain import verify
from models.enums import OfficerRole
from tests.web_helpers import PASSWORD, add, client, csrf_token, make_app, open_case, sign_in


def _actions(engine: Engine) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        return [(a.action, a.actor) for a in session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars()]


def test_failed_sign_ins_are_audited_with_the_name_tried(engine: Engine) -> None:
    app = make_app(engine)
    add(engine, "olu")
    c = client(app)
    c.post("/signin", data={"name": "olu", "password": "wrong", "csrf_token": csrf_token(c), "next": "/"})
    c.post("/signin", data={"name": "nobody-here", "password": PASSWORD, "csrf_token": csrf_token(c), "next": "/"})
    c.post("/signin", data={"name": "olu", "password": PASSWORD, "csrf_token": csrf_token(c), "next": "/"})
    assert _actions(engine) == [("sign_in_failed", "olu"), ("sign_in_failed", "nobody-here"), ("signed_in", "olu")]
    with session_scope(engine) as session:
        assert verify(session).whole


def test_searches_and_downloads_are_audited(engine: Engine) -> None:
    app = make_app(engine)
    reference = open_case(engine, "Nobody rang me back about my son's placement.")
    with session_scope(engine) as session:
        message_id = session.execute(sa.select(Message.id)).scalar_one()
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    assert manager.get("/search", params={"q": "placement"}).status_code == 200
    assert manager.get(f"/cases/{reference}/messages/{message_id}/raw").status_code == 200
    assert manager.get("/reports/2026.csv.zip").status_code == 200
    actions = [a for a, _ in _actions(engine)]
    assert {"searched", "downloaded_raw", "downloaded_report"} <= set(actions)
    with session_scope(engine) as session:
        report = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "downloaded_report")).scalar_one()
        assert report.detail == {"year": "2026", "form": "csv"} and report.actor == "meg"
        assert verify(session).whole
