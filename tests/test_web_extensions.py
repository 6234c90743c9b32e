"""Managers see the extension requests awaiting a decision, oldest first, and approve (the
deadline is extended and the complainant told) or decline (the officer sees it on the case)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Case, Deadline, OutboxItem, session_scope
from models.enums import CaseStatus, DeadlineKind, Kind, OfficerRole, Reason, Role
from tests.web_helpers import Now, form, make_app, open_case, sign_in
from triage.intake import Suggestion

COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.child_or_young_person)
RECEIVED = datetime(2026, 11, 16, 9, tzinfo=UTC)  # stage 1 due Mon 30 Nov


def ask(c, reference: str, why: str):  # type: ignore[no-untyped-def]
    response = form(c, f"/cases/{reference}/extend", {"reason": why}, page=f"/cases/{reference}")
    assert response.status_code == 303 and "extension_requested" in response.headers["location"]


def listed(manager) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<tr data-request>\s*<td class="nowrap"><a href="/cases/([^"]+)">', manager.get("/extensions").text)


@pytest.fixture
def people(engine: Engine):  # type: ignore[no-untyped-def]
    app = make_app(engine, Now())
    return sign_in(app, engine, "olu"), sign_in(app, engine, "meg", OfficerRole.manager)


def test_an_officers_request_waits_on_the_managers_list_with_who_why_and_the_date(engine: Engine, people) -> None:  # type: ignore[no-untyped-def]
    officer, manager = people
    first = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    second = open_case(engine, "Still waiting.", received=RECEIVED, sender="b@example.org", suggestion=COMPLAINT)
    ask(officer, second, "waiting for the advocate")
    ask(officer, first, "the team manager is away")
    assert listed(manager) == [second, first]  # oldest request first
    page = manager.get("/extensions").text
    assert "waiting for the advocate" in page and "Mon 30 Nov 2026" in page and "olu" in page
    assert 'href="/extensions">Extensions</a>' in manager.get("/").text
    assert officer.get("/extensions").status_code == 403
    assert 'href="/extensions"' not in officer.get("/").text


def test_approving_extends_once_tells_the_complainant_and_clears_the_request(engine: Engine, people) -> None:  # type: ignore[no-untyped-def]
    officer, manager = people
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    ask(officer, reference, "advocate")
    response = form(manager, f"/extensions/{reference}", {"decision": "approve", "reason": "to arrange an advocate"}, page="/extensions")
    assert response.headers["location"] == f"/extensions?done=approved&ref={reference}"
    assert f"{reference} approved" in manager.get(response.headers["location"]).text
    with Session(engine) as session:
        stage_1 = session.exec(select(Deadline).where(Deadline.kind == DeadlineKind.stage_1)).one()
        notice = session.exec(select(OutboxItem).where(OutboxItem.purpose == "extension_notice")).one()
    assert (stage_1.original_due_on, stage_1.due_on, stage_1.extension_reason) == (date(2026, 11, 30), date(2026, 12, 14), "to arrange an advocate")
    assert "to arrange an advocate" in notice.body
    assert listed(manager) == []


def test_declining_is_audited_for_the_officer_and_clears_the_request(engine: Engine, people) -> None:  # type: ignore[no-untyped-def]
    officer, manager = people
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    ask(officer, reference, "busy")
    response = form(manager, f"/extensions/{reference}", {"decision": "decline", "note": "there is still time"}, page="/extensions")
    assert response.status_code == 303 and listed(manager) == []
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "extension_declined")).one()
        stage_1 = session.exec(select(Deadline).where(Deadline.kind == DeadlineKind.stage_1)).one()
    assert (event.actor, event.detail) == ("meg", {"reason": "there is still time"})
    assert re.search(r"meg · extension declined\s*— there is still time", officer.get(f"/cases/{reference}").text)
    assert stage_1.original_due_on is None
    again = form(manager, f"/extensions/{reference}", {"decision": "decline"}, page="/extensions")
    assert again.status_code == 400 and "has no extension request waiting" in again.text
    ask(officer, reference, "really busy")  # asking again puts it back
    assert listed(manager) == [reference]


def test_a_request_is_no_longer_waiting_once_a_manager_extends_on_the_case_page_or_the_case_closes(engine: Engine, people) -> None:  # type: ignore[no-untyped-def]
    officer, manager = people
    extended = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    closed = open_case(engine, "Old.", received=RECEIVED, sender="b@example.org", suggestion=COMPLAINT)
    ask(officer, extended, "advocate")
    ask(officer, closed, "advocate")
    assert listed(manager) == [extended, closed]
    form(manager, f"/cases/{extended}/extend", {"reason": "advocate"}, page=f"/cases/{extended}")
    with session_scope(engine) as session:
        session.exec(select(Case).where(Case.reference == closed)).one().status = CaseStatus.closed
    assert listed(manager) == []


def test_a_request_for_a_stage_that_has_been_answered_can_only_be_declined(engine: Engine, people) -> None:  # type: ignore[no-untyped-def]
    officer, manager = people
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    ask(officer, reference, "more time please")
    form(manager, f"/cases/{reference}/respond", {"outcome": "upheld", "on": "2026-11-20"}, page=f"/cases/{reference}")
    page = manager.get("/extensions").text
    assert "no open response deadline" in page and 'value="approve"' not in page and 'value="decline"' in page
    response = form(manager, f"/extensions/{reference}", {"decision": "approve", "reason": "more"}, page="/extensions")
    assert response.status_code == 400 and "there is no open response deadline to extend" in response.text


def test_a_decision_moves_the_cases_version_on_so_a_page_opened_before_it_is_stale(engine: Engine, people) -> None:  # type: ignore[no-untyped-def]
    officer, manager = people
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    ask(officer, reference, "advocate")
    before = case_version(engine, reference)
    form(manager, f"/extensions/{reference}", {"decision": "decline", "note": "no"}, page="/extensions")
    assert case_version(engine, reference) == before + 1


def case_version(engine: Engine, reference: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Case.version).where(Case.reference == reference)).one()


@pytest.mark.parametrize(("reference", "decision", "status", "said"), [
    ("CSC-2026-00001", "maybe", 400, "choose approve or decline"),
    ("CSC-2026-00001", "approve", 400, "say why the deadline is extended"),
    ("CSC-2026-99999", "approve", 404, "there is no case"),
    ("nonsense", "decline", 404, "there is no case"),
])
def test_a_decision_that_makes_no_sense_is_refused_in_plain_words(engine: Engine, people, reference: str, decision: str,  # type: ignore[no-untyped-def]
                                                                  status: int, said: str) -> None:
    officer, manager = people
    ask(officer, open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT), "advocate")
    response = form(manager, f"/extensions/{reference}", {"decision": decision, "reason": ""}, page="/extensions")
    assert response.status_code == status and said in response.text and '<header class="top">' in response.text
    with Session(engine) as session:
        assert session.exec(select(Deadline).where(Deadline.original_due_on.is_not(None))).all() == []


def test_an_officer_cannot_decide(engine: Engine, people) -> None:  # type: ignore[no-untyped-def]
    officer, _manager = people
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    ask(officer, reference, "advocate")
    assert form(officer, f"/extensions/{reference}", {"decision": "approve", "reason": "x"}, page="/queue").status_code == 403
    with Session(engine) as session:
        assert session.exec(select(Deadline).where(Deadline.original_due_on.is_not(None))).all() == []
