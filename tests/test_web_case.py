"""The case page and what officers do on it: the story in order, deadlines with their
arithmetic, extensions, stage responses and outcomes, escalation, conversion, merging,
replies, referrals, notes, closing — each written to the audit trail."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Case, Deadline, OutboxItem, StageRecord
from models.enums import CaseStatus, DeadlineKind, DeadlineStatus, Kind, OfficerRole, Outcome, Reason, Role, SafeguardingLevel, Stage
from tests.web_helpers import case, form, make_app, open_case, sign_in
from triage.intake import Suggestion

RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Mon 16 Nov; stage 1 due Mon 30 Nov
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.parent_or_family)


def deadlines(engine: Engine, reference: str) -> dict[DeadlineKind, Deadline]:
    with Session(engine) as session:
        c = session.exec(select(Case).where(Case.reference == reference)).one()
        rows = session.exec(select(Deadline).where(Deadline.case_id == c.id, Deadline.status != DeadlineStatus.superseded))
        return {d.kind: d for d in rows}


def actions(engine: Engine, reference: str) -> list[str]:
    with Session(engine) as session:
        c = session.exec(select(Case).where(Case.reference == reference)).one()
        return list(session.exec(select(AuditEvent.action).where(AuditEvent.case_id == c.id).order_by(AuditEvent.id)))


def act(c, reference: str, action: str, data: dict):  # type: ignore[no-untyped-def]
    return form(c, f"/cases/{reference}/{action}", data, page=f"/cases/{reference}")


def test_the_case_page_tells_the_whole_story_and_each_view_is_audited(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back about contact.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{reference}").text
    assert "Nobody rang me back about contact." in page
    assert "We have your message" in page  # the acknowledgement waiting in the outbox
    assert "pending" in page
    assert "received Mon 16 Nov 2026 (day 0); 10 working days → Mon 30 Nov 2026" in page
    assert "Download the original email" in page
    c.get(f"/cases/{reference}")
    assert actions(engine, reference).count("viewed") == 2
    with Session(engine) as session:
        viewer = session.exec(select(AuditEvent.actor).where(AuditEvent.action == "viewed")).first()
    assert viewer == "olu"


def test_an_unknown_case_is_a_clear_404(engine: Engine) -> None:
    c = sign_in(make_app(engine), engine)
    missing = c.get("/cases/CSC-2026-99999")
    assert missing.status_code == 404 and "there is no case CSC-2026-99999" in missing.text
    assert c.get("/cases/not-a-reference").status_code == 404


def test_the_raw_email_downloads_byte_for_byte_and_is_never_rendered(engine: Engine) -> None:
    raw = b"Subject: hi\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>\xff\r\n"
    reference = open_case(engine, "hi", received=RECEIVED, raw=raw)
    c = sign_in(make_app(engine), engine)
    link = re.search(r'href="(/cases/[^"]+/raw)"', c.get(f"/cases/{reference}").text).group(1)  # type: ignore[union-attr]
    response = c.get(link)
    assert response.content == raw
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "downloaded_raw" in actions(engine, reference)


def test_hostile_text_is_shown_as_text(engine: Engine) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
    reference = open_case(engine, hostile, received=RECEIVED, subject='<b onmouseover="alert(3)">hi</b>')
    c = sign_in(make_app(engine), engine)
    for page in (c.get(f"/cases/{reference}").text, c.get("/queue").text):
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert 'href="javascript:' not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_a_manager_extends_stage_1_once_with_a_reason_and_the_date_explains_itself(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine, "meg", OfficerRole.manager)
    refused = act(c, reference, "extend", {"reason": "  "})
    assert refused.status_code == 400
    assert "say why the deadline is extended" in refused.text
    assert act(c, reference, "extend", {"reason": "to arrange an advocate"}).status_code == 303
    stage_1 = deadlines(engine, reference)[DeadlineKind.stage_1]
    assert (stage_1.original_due_on, stage_1.due_on) == (date(2026, 11, 30), date(2026, 12, 14))
    assert stage_1.extension_reason == "to arrange an advocate"
    assert "20 working days (extended once from 10)" in stage_1.explanation
    with Session(engine) as session:
        told = session.exec(select(OutboxItem).where(OutboxItem.purpose == "extension_notice")).all()
    assert len(told) == 1 and "to arrange an advocate" in told[0].body and "Monday 14 December 2026" in told[0].body
    again = act(c, reference, "extend", {"reason": "still busy"})
    assert "already been extended once" in again.text
    assert "it cannot be extended again" in again.text and 'action="/cases/' + reference + '/extend"' not in again.text  # the form is gone


def test_an_officer_asks_and_a_manager_approves_an_extension(engine: Engine) -> None:
    app = make_app(engine)
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    officer = sign_in(app, engine, "olu")
    response = act(officer, reference, "extend", {"reason": "complex: three teams involved"})
    assert response.headers["location"].startswith(f"/cases/{reference}?done=extension_requested")
    assert deadlines(engine, reference)[DeadlineKind.stage_1].original_due_on is None
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    page = manager.get(f"/cases/{reference}").text
    assert 'value="complex: three teams involved"' in page and "Requested by olu." in page
    act(manager, reference, "extend", {"reason": "complex: three teams involved"})
    assert deadlines(engine, reference)[DeadlineKind.stage_1].due_on == date(2026, 12, 14)


def test_recording_a_stage_1_response_meets_the_deadline_and_opens_the_stage_2_window(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    assert act(c, reference, "respond", {"outcome": "partially_upheld", "on": "2026-11-20", "note": "apology sent"}).status_code == 303
    due = deadlines(engine, reference)
    assert (due[DeadlineKind.stage_1].status, due[DeadlineKind.stage_1].met_on) == (DeadlineStatus.met, date(2026, 11, 20))
    assert due[DeadlineKind.stage_2_request].due_on == date(2026, 12, 18)
    assert case(engine, reference).status is CaseStatus.responded
    with Session(engine) as session:
        record = session.exec(select(StageRecord)).one()
    assert (record.stage, record.outcome, record.note) == (Stage.stage_1, Outcome.partially_upheld, "apology sent")


def test_a_response_in_the_future_or_without_an_outcome_is_refused(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    assert "choose the outcome" in act(c, reference, "respond", {"outcome": ""}).text
    future = act(c, reference, "respond", {"outcome": "upheld", "on": "2026-12-25"})
    assert "a day that has not come" in future.text
    assert "not a date" in act(c, reference, "respond", {"outcome": "upheld", "on": "25/11/2026"}).text
    assert case(engine, reference).status is CaseStatus.open


def test_escalating_to_stage_2_starts_its_25_day_clock(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    act(c, reference, "respond", {"outcome": "not_upheld", "on": "2026-11-18"})
    assert act(c, reference, "escalate", {"to": "stage_2", "on": "2026-11-23"}).status_code == 303
    due = deadlines(engine, reference)
    assert due[DeadlineKind.stage_2].due_on == date(2026, 12, 30)
    assert due[DeadlineKind.stage_2_request].status is DeadlineStatus.met
    saved = case(engine, reference)
    assert (saved.stage, saved.status) == (Stage.stage_2, CaseStatus.open)
    assert "cannot go to stage 2" in act(c, reference, "escalate", {"to": "stage_2"}).text


def test_converting_initial_feedback_to_a_complaint_and_back_moves_the_deadline(engine: Engine) -> None:
    reference = open_case(engine, "Minutes never sent.", received=RECEIVED,
                          suggestion=Suggestion(kind=Kind.initial_feedback, reasons=[Reason.communication]))
    c = sign_in(make_app(engine), engine)
    assert set(deadlines(engine, reference)) == {DeadlineKind.acknowledgement, DeadlineKind.initial_feedback}
    act(c, reference, "convert", {"to": "complaint"})
    assert set(deadlines(engine, reference)) == {DeadlineKind.acknowledgement, DeadlineKind.stage_1}
    assert case(engine, reference).stage is Stage.stage_1
    act(c, reference, "convert", {"to": "initial_feedback"})
    assert set(deadlines(engine, reference)) == {DeadlineKind.acknowledgement, DeadlineKind.initial_feedback}
    assert actions(engine, reference).count("converted") == 2


def test_merging_brings_the_other_story_in_and_stops_its_clock(engine: Engine) -> None:
    first = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    second = open_case(engine, "Me again, still nobody rang.", received=RECEIVED.replace(day=17), sender="other@example.org", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    assert act(c, first, "merge", {"other": second.lower()}).status_code == 303
    assert "Me again, still nobody rang." in c.get(f"/cases/{first}").text
    merged = case(engine, second)
    assert merged.status is CaseStatus.merged and merged.merged_into_id == case(engine, first).id
    assert deadlines(engine, second) == {}
    assert "there is no case" in act(c, first, "merge", {"other": "CSC-2026-77777"}).text
    assert "into itself" in act(c, first, "merge", {"other": first}).text


def test_a_case_opened_by_a_stranger_naming_another_links_to_it_and_can_be_merged_there(engine: Engine) -> None:
    named = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    theirs = open_case(engine, f"I am his dad. About {named}: nobody rang me either.", received=RECEIVED.replace(day=17),
                       sender="dad@example.org", subject=f"Re: {named}", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{theirs}").text
    assert f'names <a href="/cases/{named}">{named}</a>, but the sender is not a contact on that case.' in page
    assert "names another case" in page  # the audit event, in the story
    page = c.get(f"/cases/{named}").text
    assert "data-named-by" in page and f'<a href="/cases/{theirs}">{theirs}</a>' in page
    assert act(c, named, "merge", {"other": theirs}).status_code == 303  # it belongs there: merged in
    page = c.get(f"/cases/{named}").text
    assert "I am his dad." in page and "data-named-by" not in page


def test_a_reply_goes_to_the_outbox_on_the_case_channel_once(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, sender="mum@example.org", subject="contact", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{reference}").text
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    for _ in range(2):  # a double click
        assert act(c, reference, "reply", {"body": "Sorry — Sam will ring you today.", "once": once}).status_code == 303
    with Session(engine) as session:
        replies = session.exec(select(OutboxItem).where(OutboxItem.purpose == "reply")).all()
    assert len(replies) == 1 and replies[0].status.value == "draft"  # previewed first: nothing sent yet
    assert deadlines(engine, reference)[DeadlineKind.acknowledgement].status is DeadlineStatus.open
    for _ in range(2):  # a double click on Send
        assert act(c, reference, f"reply/{replies[0].id}/send", {}).status_code == 303
    with Session(engine) as session:
        replies = session.exec(select(OutboxItem).where(OutboxItem.purpose == "reply")).all()
    assert len(replies) == 1 and replies[0].status.value == "pending"
    assert actions(engine, reference).count("replied") == 1
    assert (replies[0].recipient, replies[0].channel.value, replies[0].subject) == ("mum@example.org", "email", f"Re: contact [{reference}]")
    assert deadlines(engine, reference)[DeadlineKind.acknowledgement].status is DeadlineStatus.met
    empty = act(c, reference, "reply", {"body": "   ", "once": "abc"})
    assert "the reply is empty" in empty.text


def test_closing_a_flagged_case_needs_the_referral_recorded_first(engine: Engine) -> None:
    reference = open_case(engine, "He hits me.", received=RECEIVED,
                          suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure, signals=["physical_abuse"]))
    c = sign_in(make_app(engine), engine)
    assert "record the referral" in act(c, reference, "close", {"why": "done", "confirm": "yes"}).text
    assert act(c, reference, "referral", {"note": "MASH, 10:05, spoke to duty SW"}).status_code == 303
    assert case(engine, reference).safeguarding_referral_at is not None
    assert act(c, reference, "close", {"why": "referred; no complaint to answer", "confirm": "yes"}).status_code == 303
    saved = case(engine, reference)
    assert saved.status is CaseStatus.closed and saved.closed_at is not None
    assert all(d.status is not DeadlineStatus.open for d in deadlines(engine, reference).values())
    assert act(c, reference, "reopen", {}).status_code == 303
    assert DeadlineKind.stage_1 in deadlines(engine, reference)


def test_a_possible_concern_has_its_own_panel_and_must_be_cleared_or_referred_before_closing(engine: Engine) -> None:
    reference = open_case(engine, "and now I can't go and everyone else in my class is going", received=RECEIVED,
                          suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.possible,
                                                signals=["model:0.20"]))
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{reference}").text
    assert "Possible safeguarding concern" in page and "model:0.20" in page and "was not given the crisis reply" in page
    assert 'class="flag"' not in page  # not the urgent panel
    assert "possible safeguarding concern: record the referral" in act(c, reference, "close", {"why": "done", "confirm": "yes"}).text
    assert act(c, reference, "triage", {"kind": "complaint", "safeguarding": ""}).status_code == 303
    assert not case(engine, reference).safeguarding
    assert act(c, reference, "close", {"why": "answered", "confirm": "yes"}).status_code == 303


def test_notes_remedies_and_assignment_are_saved_and_audited(engine: Engine) -> None:
    from tests.web_helpers import add

    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    sam = add(engine, "sam")
    act(c, reference, "note", {"text": "Rang mum, left a message."})
    act(c, reference, "assign", {"owner": str(sam), "team": ""})
    act(c, reference, "remedies", {"adr": "1", "adr_note": "meeting 3 Dec", "compensation": "£150.50", "learning": "Call back within 2 days."})
    saved = case(engine, reference)
    assert (saved.owner_id, saved.adr, saved.compensation_pence, saved.learning) == (sam, True, 15050, "Call back within 2 days.")
    assert "Rang mum, left a message." in c.get(f"/cases/{reference}").text
    bad = act(c, reference, "remedies", {"compensation": "lots", "learning": "keep this"})
    assert "not an amount in pounds" in bad.text and "keep this" in bad.text
    assert {"note", "assigned", "remedies"} <= set(actions(engine, reference))


def test_only_managers_see_the_audit_trail_on_the_case_page(engine: Engine) -> None:
    app = make_app(engine)
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    assert "Audit trail" not in sign_in(app, engine, "olu").get(f"/cases/{reference}").text
    page = sign_in(app, engine, "meg", OfficerRole.manager).get(f"/cases/{reference}").text
    assert "Audit trail" in page and re.search(r"<td>olu</td><td>viewed</td>", page)

