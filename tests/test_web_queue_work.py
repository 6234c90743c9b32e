"""Working the queue for a day: confirm in one click, correct in a form opened on demand, assign
the ticked cases in one submit, see a due date's urgency and which cases have a new reply."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Case, Message, Officer, Team, TrainingLabel, session_scope
from models.enums import CaseStatus, Channel, Direction, Kind, MessageState, OfficerRole, Reason, Role, SafeguardingLevel, TriageState
from tests.web_helpers import Now, add, case, client, form, make_app, open_case, sign_in
from triage.intake import Suggestion

COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.81, reasons=[Reason.communication], primary_reason=Reason.communication,
                       role=Role.parent_or_family)
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def day(d: int, month: int = 11) -> datetime:
    return datetime(2026, month, d, 9, 0, tzinfo=UTC)


def row_of(page: str, reference: str) -> str:
    start = page.rindex("<tr", 0, page.index(f'data-open>{reference}<'))
    return page[start: page.index("</tr>", start)]


def officer_id(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Officer.id).where(Officer.name == name)).one()


# --- confirm and correct ----------------------------------------------------------------

def test_confirming_as_suggested_needs_no_fields_and_keeps_the_suggestion(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    response = form(c, f"/queue/{reference}/triage", {"verdict": "as_suggested", "back": "/queue?kind=complaint"})
    assert response.headers["location"] == f"/queue?kind=complaint&done=confirmed&ref={reference}"
    saved = case(engine, reference)
    assert (saved.triage_state, saved.kind, saved.primary_reason, saved.complainant_role) == (
        TriageState.confirmed, Kind.complaint, Reason.communication, Role.parent_or_family)
    with Session(engine) as session:
        assert session.exec(select(TrainingLabel)).all() == []
    assert f"{reference} confirmed." in c.get(response.headers["location"]).text


def test_confirming_as_suggested_keeps_a_safeguarding_flag(engine: Engine) -> None:
    reference = open_case(engine, "He hits me.", suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure))
    c = sign_in(make_app(engine), engine)
    form(c, f"/queue/{reference}/triage", {"verdict": "as_suggested"})
    assert case(engine, reference).safeguarding_level is SafeguardingLevel.disclosure


def test_the_queue_has_no_form_per_row_and_opens_one_correction_form_on_demand(engine: Engine) -> None:
    refs = [open_case(engine, f"Complaint {i}.", received=day(10 + i), sender=f"p{i}@example.org", suggestion=COMPLAINT) for i in range(4)]
    c = sign_in(make_app(engine), engine)
    page = c.get("/queue").text
    assert page.count("<form") == 5  # search, sign out, filters, confirm, bulk assign: one each, whatever the rows
    assert page.count('name="kind"') == 1  # the filter's: no correction form until one is asked for
    for ref in refs:
        assert f'formaction="/queue/{ref}/triage" name="verdict" value="as_suggested"' in page
    opened = c.get(f"/queue?kind=complaint&correct={refs[2]}").text
    assert opened.count('id="correct"') == 1
    assert f'<form method="post" action="/queue/{refs[2]}/triage"' in opened
    assert f'Kind of {refs[2]}' in opened and f'Kind of {refs[1]}' not in opened
    assert 'name="back" value="/queue?kind=complaint"' in opened  # saving comes back to the same view
    assert opened.index(f'data-open>{refs[2]}<') < opened.index('id="correct"') < opened.index(f'data-open>{refs[3]}<')


def test_a_correction_for_a_reference_not_in_the_view_opens_nothing(engine: Engine) -> None:
    open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    for odd in ("CSC-2026-99999", "<script>", "x" * 5000):
        page = c.get("/queue", params={"correct": odd})
        assert page.status_code == 200 and 'id="correct"' not in page.text and "<script>" not in page.text


# --- columns and badges -----------------------------------------------------------------

@pytest.mark.parametrize(("received", "badge", "due"), [
    (day(2), "overdue", '<span class="badge b-overdue">Overdue</span> Mon 16 Nov <span class="muted">5 over</span>'),
    (day(9), "today", '<span class="badge b-today">Due today</span> Mon 23 Nov'),
    (day(12), "soon", '<span class="badge b-soon">Due soon</span> Thu 26 Nov <span class="muted">3 left</span>'),
    (day(13), "", 'Fri 27 Nov <span class="muted">4 left</span>'),
])
def test_the_due_date_carries_a_badge_counted_in_working_days(engine: Engine, received: datetime, badge: str, due: str) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=received, suggestion=COMPLAINT)  # stage 1: 10 working days
    c = sign_in(make_app(engine, Now(MONDAY)), engine)
    row = row_of(c.get("/queue").text, reference)
    assert f'<td class="due" data-due="{badge}">' in row and due in row


def test_soon_counts_working_days_so_a_bank_holiday_weekend_is_not_soon(engine: Engine) -> None:
    # Thu 24 Dec 2026 → Mon 4 Jan 2027: 11 days away but only 4 working days (25, 28 Dec and 1 Jan are closed)
    reference = open_case(engine, "Nobody rang me back.", received=datetime(2026, 12, 16, 9, tzinfo=UTC), suggestion=COMPLAINT)
    now = Now(datetime(2026, 12, 24, 10, tzinfo=UTC))
    app = make_app(engine, now)
    row = row_of(sign_in(app, engine, "olu").get("/queue").text, reference)
    assert 'Mon 4 Jan <span class="muted">4 left</span>' in row and 'data-due=""' in row
    now.at = datetime(2026, 12, 29, 10, tzinfo=UTC)  # Tue 29 Dec: 3 working days left
    assert 'data-due="soon"' in row_of(sign_in(app, engine, "sam").get("/queue").text, reference)


def test_a_row_shows_received_owner_team_and_status_and_the_reference_never_wraps(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=day(16), suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    with session_scope(engine) as session:
        team = Team(name="Leaving Care")
        session.add(team)
        session.flush()
        saved = session.exec(select(Case).where(Case.reference == reference)).one()
        saved.team_id, saved.owner_id = team.id, officer_id(engine, "olu")
    row = row_of(c.get("/queue").text, reference)
    assert '<td class="nowrap">Mon 16 Nov <span class="muted">email</span></td>' in row
    assert '<td class="owner">olu <span class="muted">Leaving Care</span></td>' in row
    assert '<td class="nowrap">stage 1</td>' in row
    assert '<td class="ref">' in row
    css = c.get("/static/heard.css").text
    assert "table.queue th, table.queue td { padding: .2rem .35rem; white-space: nowrap;" in css


# --- filters from the dashboard ---------------------------------------------------------

def test_due_week_means_a_live_deadline_in_the_next_5_working_days(engine: Engine) -> None:
    now = Now(datetime(2026, 12, 23, 10, tzinfo=UTC))  # Wed 23 Dec: the next 5 working days are 23, 24, 29, 30 and 31 Dec
    inside = open_case(engine, "a", received=datetime(2026, 12, 15, 9, tzinfo=UTC), suggestion=COMPLAINT)  # due Thu 31 Dec
    outside = open_case(engine, "b", received=datetime(2026, 12, 16, 9, tzinfo=UTC), sender="b@example.org", suggestion=COMPLAINT)  # due Mon 4 Jan
    late = open_case(engine, "c", received=datetime(2026, 11, 2, 9, tzinfo=UTC), sender="c@example.org", suggestion=COMPLAINT)  # overdue
    c = sign_in(make_app(engine, now), engine)
    page = c.get("/queue?review=all&due=week").text
    assert inside in page and outside not in page and late not in page
    assert c.get("/api/queue?review=all&due=week").json()["total"] == 1
    assert "Filter ignored — due: &#39;fortnight&#39; is not week" in c.get("/queue?due=fortnight").text


def test_the_safeguarding_filter_shows_one_level(engine: Engine) -> None:
    unsafe = open_case(engine, "He hits me.", suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure))
    maybe = open_case(engine, "I am scared.", sender="m@example.org",
                      suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.possible))
    plain = open_case(engine, "Nobody rang.", sender="p@example.org", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    for level, shown in (("disclosure", unsafe), ("possible", maybe)):
        page = c.get(f"/queue?review=all&safeguarding={level}").text
        assert [r for r in (unsafe, maybe, plain) if f"data-open>{r}<" in page] == [shown]


# --- bulk assign ------------------------------------------------------------------------

def test_bulk_assign_gives_the_ticked_cases_to_one_officer_each_audited_like_a_single_assignment(engine: Engine) -> None:
    refs = [open_case(engine, f"Complaint {i}.", received=day(10 + i), sender=f"p{i}@example.org", suggestion=COMPLAINT) for i in range(3)]
    with session_scope(engine) as session:
        team = Team(name="Leaving Care")
        session.add(team)
        session.flush()
        session.exec(select(Case).where(Case.reference == refs[0])).one().team_id = team.id
        team_id = team.id
    c = sign_in(make_app(engine), engine)
    sam = add(engine, "sam")
    response = c.post("/queue/assign", data={"case": [refs[0], refs[1]], "owner": str(sam), "back": "/queue?review=all",
                                             "csrf_token": _token(c)})
    assert response.status_code == 303
    assert response.headers["location"] == f"/queue?review=all&done=assigned&count=2&to={sam}"
    back = c.get(response.headers["location"]).text
    assert "2 cases assigned to sam." in back
    assert all(f"data-open>{r}<" in back for r in refs)  # the same view as before, not narrowed to sam's cases
    assert [case(engine, r).owner_id for r in refs] == [sam, sam, None]
    assert case(engine, refs[0]).team_id == team_id  # the team stays
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "assigned").order_by(AuditEvent.id)).all()
    assert [(e.actor, e.detail["owner_id"], e.detail["before"]["owner_id"]) for e in events] == [("olu", sam, None), ("olu", sam, None)]
    assert {e.case_id for e in events} == {case(engine, refs[0]).id, case(engine, refs[1]).id}


def test_bulk_assign_to_nobody_unassigns(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    with session_scope(engine) as session:
        session.exec(select(Case).where(Case.reference == reference)).one().owner_id = officer_id(engine, "olu")
    response = c.post("/queue/assign", data={"case": reference, "owner": "", "csrf_token": _token(c)})
    assert response.status_code == 303 and case(engine, reference).owner_id is None
    assert "1 case assigned to nobody." in c.get(response.headers["location"]).text


def _token(c) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'id="bulk-assign"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', c.get("/queue").text).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize(("ticked", "owner", "said"), [
    ([], "OLU", "tick the cases to assign first"),
    (["FIRST", "CSC-2026-99999"], "OLU", "there is no case CSC-2026-99999"),
    (["FIRST", "nonsense"], "OLU", "&#39;NONSENSE&#39; is not a case reference"),
    (["FIRST"], "999999", "choose an officer who can work cases"),
    (["FIRST"], "²", "is not a number"),
    (["FIRST"], "9" * 30, "is not the number of any"),
    (["FIRST", "CLOSED"], "OLU", "is closed; reopen it first; nothing was assigned"),
    (["FIRST"] * 201, "OLU", "at most 200 cases can be assigned at once"),
])
def test_a_bulk_assignment_that_cannot_be_done_whole_changes_nothing_and_says_why(
        engine: Engine, ticked: list[str], owner: str, said: str) -> None:
    first = open_case(engine, "Nobody rang.", suggestion=COMPLAINT)
    closed = open_case(engine, "Old one.", sender="o@example.org", suggestion=COMPLAINT)
    with session_scope(engine) as session:
        session.exec(select(Case).where(Case.reference == closed)).one().status = CaseStatus.closed
    c = sign_in(make_app(engine), engine)
    names = {"FIRST": first, "CLOSED": closed}
    data = {"case": [names.get(t, t) for t in ticked], "owner": str(officer_id(engine, "olu")) if owner == "OLU" else owner,
            "csrf_token": _token(c)}
    response = c.post("/queue/assign", data=data)
    assert response.status_code == 400 and said in response.text and '<header class="top">' in response.text
    assert case(engine, first).owner_id is None
    with Session(engine) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "assigned")).all() == []


def test_bulk_assign_without_the_csrf_token_is_refused(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    response = c.post("/queue/assign", data={"case": reference, "owner": str(officer_id(engine, "olu"))})
    assert response.status_code == 403 and case(engine, reference).owner_id is None
    stranger = client(make_app(engine))
    assert stranger.post("/queue/assign", data={"case": reference}).status_code in (303, 403)
    assert case(engine, reference).owner_id is None


# --- new activity -----------------------------------------------------------------------

def reply(engine: Engine, reference: str, at: datetime, direction: Direction = Direction.inbound) -> None:
    with session_scope(engine) as session:
        saved = session.exec(select(Case).where(Case.reference == reference)).one()
        session.add(Message(dedupe_key=f"reply:{reference}:{at.isoformat()}:{direction}", channel=Channel.email, direction=direction,
                            state=MessageState.processed, case_id=saved.id, sender="parent@example.org", text="Any news?",
                            received_at=at, processed_at=at))


def test_a_reply_since_the_owner_last_opened_the_case_marks_it_until_they_open_it(engine: Engine) -> None:
    now = Now(MONDAY)
    app = make_app(engine, now)
    reference = open_case(engine, "Nobody rang me back.", received=day(16), suggestion=COMPLAINT)
    owner = sign_in(app, engine, "olu")
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    with session_scope(engine) as session:
        session.exec(select(Case).where(Case.reference == reference)).one().owner_id = officer_id(engine, "olu")

    def marked() -> bool:
        return "data-new-activity" in row_of(manager.get("/queue?review=all").text, reference)

    assert not marked()  # the message that opened the case is not a reply
    reply(engine, reference, MONDAY + timedelta(minutes=5))
    now.later(minutes=10)
    assert marked()  # never opened by the owner, and a reply came
    assert manager.get("/api/queue?review=all").json()["items"][0]["new_activity"] is True
    manager.get(f"/cases/{reference}")  # someone else opening it changes nothing
    assert marked()
    owner.get(f"/cases/{reference}")
    assert not marked()
    now.later(minutes=10)
    reply(engine, reference, now(), Direction.outbound)  # our own message is not a reply
    assert not marked()
    now.later(minutes=10)
    reply(engine, reference, now())
    assert marked()
    owner.get(f"/api/cases/{reference}")  # opening it through the API counts too
    assert not marked()


def test_an_unowned_case_has_no_new_activity_marker(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=day(16), suggestion=COMPLAINT)
    reply(engine, reference, MONDAY)
    c = sign_in(make_app(engine, Now(MONDAY + timedelta(hours=1))), engine)
    assert "data-new-activity" not in row_of(c.get("/queue").text, reference)


# --- two officers -----------------------------------------------------------------------

def version_of(engine: Engine, reference: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Case.version).where(Case.reference == reference)).one()


def test_a_correction_opened_before_someone_else_saved_is_refused_and_changes_nothing(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    app = make_app(engine)
    olu, sam = sign_in(app, engine, "olu"), sign_in(app, engine, "sam")
    opened = olu.get(f"/queue?correct={reference}").text
    version = re.search(r'name="version" value="(\d+)"', opened).group(1)  # type: ignore[union-attr]
    form(sam, "/queue/assign", {"case": reference, "owner": str(officer_id(engine, "sam"))})  # sam saves first
    assert version_of(engine, reference) == int(version) + 1
    response = form(olu, f"/queue/{reference}/triage", {"kind": "initial_feedback", "version": version})
    assert response.status_code == 400 and f"{reference} was changed by sam" in response.text and "Nothing was saved" in response.text
    assert case(engine, reference).kind is Kind.complaint
    fresh = re.search(r'name="version" value="(\d+)"', olu.get(f"/queue?correct={reference}").text).group(1)  # type: ignore[union-attr]
    assert form(olu, f"/queue/{reference}/triage", {"kind": "initial_feedback", "version": fresh}).status_code == 303
    assert case(engine, reference).kind is Kind.initial_feedback


def test_confirming_from_the_queue_moves_the_version_on(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    before = version_of(engine, reference)
    form(c, f"/queue/{reference}/triage", {"verdict": "as_suggested"})
    assert version_of(engine, reference) == before + 1
    assert form(c, f"/queue/{reference}/triage", {"verdict": "as_suggested", "version": "²"}).status_code == 400
