"""The JSON API under /api and the dashboard's figures, as a script or another tool sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Message, Team, session_scope
from models.enums import Channel, Direction, Kind, MessageState, OfficerRole, Reason, Role, SafeguardingLevel
from tests.web_helpers import Now, client, form, make_app, open_case, sign_in
from triage.intake import Suggestion

COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.delay], role=Role.care_leaver)


def test_the_api_needs_a_signed_in_officer(engine: Engine) -> None:
    c = client(make_app(engine))
    for path in ("/api/me", "/api/queue", "/api/dashboard", "/api/openapi.json", "/api/cases/CSC-2026-00001"):
        response = c.get(path)
        assert response.status_code == 401 and response.json() == {"detail": "sign in first"}, path


def test_the_queue_as_json_has_what_the_page_shows(engine: Engine) -> None:
    reference = open_case(engine, "Where are my savings? I asked four times.", received=datetime(2026, 11, 16, 9, tzinfo=UTC), suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    data = c.get("/api/queue").json()
    assert (data["total"], data["page"], data["pages"]) == (1, 1, 1)
    item = data["items"][0]
    assert item["reference"] == reference
    assert item["opening_words"] == "Where are my savings? I asked four times."
    assert (item["kind"], item["confidence"], item["reasons"], item["role"]) == ("complaint", 0.8, ["delay"], "care_leaver")
    assert (item["due_on"], item["working_days_left"]) == ("2026-11-30", 5)


def test_a_case_as_json_is_audited_as_a_view(engine: Engine) -> None:
    reference = open_case(engine, "Where are my savings?", received=datetime(2026, 11, 16, 9, tzinfo=UTC), suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    data = c.get(f"/api/cases/{reference}").json()
    assert data["reference"] == reference and data["status"] == "open"
    stage_1 = next(d for d in data["deadlines"] if d["kind"] == "stage_1")
    assert stage_1["explanation"].endswith("→ Mon 30 Nov 2026")
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "viewed")).one()
    assert (event.actor, event.detail) == ("olu", {"via": "api"})
    assert c.get("/api/cases/CSC-2026-55555").status_code == 404


def test_a_case_opened_by_a_stranger_naming_another_says_which_it_names(engine: Engine) -> None:
    named = open_case(engine, "Where are my savings?", suggestion=COMPLAINT)
    theirs = open_case(engine, f"What about {named}?", sender="someone@example.net", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    assert c.get(f"/api/cases/{theirs}").json()["names_reference"] == named
    assert c.get(f"/api/cases/{named}").json()["names_reference"] is None


def test_an_api_triage_that_breaks_a_rule_says_why(engine: Engine) -> None:
    reference = open_case(engine, "Thank you!", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    token = c.get("/api/me").json()["csrf_token"]
    response = c.post(f"/api/cases/{reference}/triage", json={"kind": "compliment", "reasons": ["delay"]}, headers={"X-CSRF-Token": token})
    assert response.status_code == 409
    assert "a compliment has no complaint reasons" in response.json()["detail"]
    bad = c.post(f"/api/cases/{reference}/triage", json={"kind": "grumble"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422


def test_an_api_triage_based_on_an_old_version_is_refused_and_saves_nothing(engine: Engine) -> None:
    reference = open_case(engine, "Where are my savings?", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    token = {"X-CSRF-Token": c.get("/api/me").json()["csrf_token"]}
    seen = c.get(f"/api/cases/{reference}").json()["version"]
    first = c.post(f"/api/cases/{reference}/triage", json={"kind": "complaint", "reasons": ["finance"], "version": seen}, headers=token)
    assert first.status_code == 200 and c.get(f"/api/cases/{reference}").json()["version"] == seen + 1
    stale = c.post(f"/api/cases/{reference}/triage", json={"kind": "initial_feedback", "reasons": ["delay"], "version": seen}, headers=token)
    assert stale.status_code == 409 and "was changed by olu" in stale.json()["detail"]
    data = c.get(f"/api/cases/{reference}").json()
    assert (data["kind"], data["reasons"]) == ("complaint", ["finance"])  # nothing overwritten
    unchecked = c.post(f"/api/cases/{reference}/triage", json={"kind": "complaint", "reasons": ["finance"]}, headers=token)
    assert unchecked.status_code == 200  # without a version: saved, and the version still moves on


def test_the_openapi_description_lists_the_api(engine: Engine) -> None:
    c = sign_in(make_app(engine), engine)
    paths = c.get("/api/openapi.json").json()["paths"]
    assert {"/api/queue", "/api/cases/{reference}", "/api/cases/{reference}/triage", "/api/me", "/api/dashboard"} <= set(paths)
    assert not any(p.startswith("/cases") for p in paths)  # the pages are not API


def test_the_api_gives_each_cases_safeguarding_level_and_an_officer_can_set_it(engine: Engine) -> None:
    maybe = open_case(engine, "and now I can't go and everyone else in my class is going", sender="m@example.org",
                      suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.possible, signals=["model:0.20"]))
    plain = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    items = {i["reference"]: i for i in c.get("/api/queue").json()["items"]}
    assert (items[maybe]["safeguarding"], items[maybe]["safeguarding_level"], items[maybe]["safeguarding_signals"]) == (
        True, "possible", ["model:0.20"])
    assert (items[plain]["safeguarding"], items[plain]["safeguarding_level"]) == (False, None)
    token = c.get("/api/me").json()["csrf_token"]
    answer = c.post(f"/api/cases/{maybe}/triage", json={"kind": "complaint", "safeguarding_level": "disclosure"},
                    headers={"X-CSRF-Token": token})
    assert answer.status_code == 200 and answer.json()["corrected"] == ["safeguarding"]
    detail = c.get(f"/api/cases/{maybe}").json()
    assert (detail["safeguarding"], detail["safeguarding_level"]) == (True, "disclosure")
    c.post(f"/api/cases/{maybe}/triage", json={"kind": "complaint", "safeguarding": False}, headers={"X-CSRF-Token": token})
    assert c.get(f"/api/cases/{maybe}").json()["safeguarding_level"] is None


def test_the_dashboard_counts_open_work(engine: Engine) -> None:
    now = Now(datetime(2026, 11, 23, 10, tzinfo=UTC))
    app = make_app(engine, now)
    overdue = open_case(engine, "Still waiting.", received=datetime(2026, 11, 2, 9, tzinfo=UTC), suggestion=COMPLAINT)  # due 16 Nov
    open_case(engine, "Due this week.", received=datetime(2026, 11, 13, 9, tzinfo=UTC), sender="b@example.org", suggestion=COMPLAINT)  # due 27 Nov
    open_case(engine, "He hits me.", received=datetime(2026, 11, 20, 9, tzinfo=UTC), sender="c@example.org",
              suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure))
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    form(manager, f"/cases/{overdue}/respond", {"outcome": "upheld", "on": "2026-11-20"}, page=f"/cases/{overdue}")
    with session_scope(engine) as session:
        session.add(Team(name="Leaving Care"))
    data = manager.get("/api/dashboard").json()
    assert data["by_stage"] == {"stage_1": 3}
    assert (data["overdue"], data["due_this_week"], data["needs_review"]) == (0, 1, 3)
    assert (data["safeguarding_open"], data["safeguarding_unreferred"]) == (1, 1)
    assert data["timeliness"]["total"] == 1 and data["timeliness"]["within_20"] == 1 and data["timeliness"]["on_time"] == 0
    assert data["year_from"] == "2026-04-01"
    assert [t["name"] for t in data["teams"]] == ["Leaving Care"]
    page = manager.get("/").text
    assert '<strong id="due-week">1</strong>' in page and '<strong id="safeguarding">1</strong>' in page


def test_the_dashboard_shows_the_email_backlog_and_how_long_the_oldest_has_waited(engine: Engine) -> None:
    now = Now(datetime(2026, 11, 23, 10, 20, tzinfo=UTC))
    app = make_app(engine, now)
    officer = sign_in(app, engine)
    assert officer.get("/api/dashboard").json()["email_backlog"] == {"waiting": 0, "oldest_seconds": None}
    with session_scope(engine) as session:
        for n, (channel, state, minute) in enumerate([
            (Channel.email, MessageState.processed, 0),  # read long ago
            (Channel.email, MessageState.stored, 50),    # waiting since 09:50
            (Channel.email, MessageState.stored, 65),    # and since 10:05
            (Channel.telegram, MessageState.stored, 0),  # a chat waits for its story to end: not email's backlog
        ]):
            session.add(Message(dedupe_key=f"k{n}", channel=channel, direction=Direction.inbound, state=state,
                                received_at=datetime(2026, 11, 23, 9, tzinfo=UTC) + timedelta(minutes=minute)))
    assert officer.get("/api/dashboard").json()["email_backlog"] == {"waiting": 2, "oldest_seconds": 30 * 60}
    page = officer.get("/").text
    assert '<strong id="email-backlog">2</strong>' in page
    assert '<span id="email-backlog-oldest">30 min</span>' in page
