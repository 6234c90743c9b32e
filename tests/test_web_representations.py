"""Logging a phone call, letter, visit or councillor/MP enquiry: the officers' form, `POST
/api/cases`, and acknowledging by post or phone on the case page."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Attachment, AuditEvent, Case, Deadline, Message, OutboxItem
from models.enums import Channel, DeadlineKind, DeadlineStatus, Direction, Kind, Reason, Role
from desk.csrf import MAX_UPLOAD_BYTES
from tests.web_helpers import client, csrf_token, make_app, open_case, sign_in
from triage.intake import Suggestion

COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.parent_or_family)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CALL = {"channel": "phone", "received_on": "2026-11-20", "text": "A care leaver rang: nobody has called her back about her flat.",
        "contact_name": "Kayla Brown", "contact_email": None, "contact_phone": "07700 900123"}


def app_for(engine: Engine, classified: list[str] | None = None, **options):  # type: ignore[no-untyped-def]
    def classify(text: str) -> Suggestion:
        if classified is not None:
            classified.append(text)
        return COMPLAINT

    return make_app(engine, classify=classify, **options)


def api(c, body, **headers):  # type: ignore[no-untyped-def]
    token = c.get("/api/me").json()["csrf_token"]
    return c.post("/api/cases", json=body, headers={"X-CSRF-Token": token, **headers})


def cases(engine: Engine) -> list[Case]:
    with Session(engine) as session:
        return list(session.exec(select(Case).order_by(Case.id)))


def deadline(engine: Engine, reference: str, kind: DeadlineKind = DeadlineKind.acknowledgement) -> Deadline:
    with Session(engine) as session:
        return session.exec(select(Deadline).join(Case, Case.id == Deadline.case_id)
                            .where(Case.reference == reference, Deadline.kind == kind)).one()


def post_form(c, data: dict, files: dict | None = None):  # type: ignore[no-untyped-def]
    page = c.get("/representations/new").text
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return c.post("/representations", data={"once": once, "csrf_token": csrf_token(c, "/representations/new"), **data},
                  files=files or {"scan": ("", b"", "application/octet-stream")})


# --- the API --------------------------------------------------------------------------------

def test_a_phone_call_logged_through_the_api_is_classified_and_joins_the_queue(engine: Engine) -> None:
    read: list[str] = []
    c = sign_in(app_for(engine, read), engine)
    response = api(c, CALL)
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    assert response.json() == {"reference": "CSC-2026-00001"} and read == [CALL["text"]]
    [item] = c.get("/api/queue").json()["items"]
    assert (item["reference"], item["channel"], item["kind"], item["opening_words"]) == (reference, "phone", "complaint", CALL["text"])
    detail = c.get(f"/api/cases/{reference}").json()
    ack = next(d for d in detail["deadlines"] if d["kind"] == "acknowledgement")
    assert ack["due_on"] == "2026-11-25" and ack["explanation"].startswith("received Fri 20 Nov 2026 (day 0)")
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "logged")).one()
    assert event.actor == "olu" and event.detail["channel"] == "phone" and event.detail["received_on"] == "2026-11-20"


def test_the_same_idempotency_key_gives_the_same_case(engine: Engine) -> None:
    c = sign_in(app_for(engine), engine)
    first = api(c, CALL, **{"Idempotency-Key": "call-2026-11-20-kb"})
    again = api(c, {**CALL, "text": "typed again"}, **{"Idempotency-Key": "call-2026-11-20-kb"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert len(cases(engine)) == 1
    assert api(c, CALL, **{"Idempotency-Key": "x" * 65}).status_code == 400


@pytest.mark.parametrize(("change", "status", "said"), [
    ({"received_on": "2026-11-24"}, 400, "is after today (Mon 23 Nov 2026)"),
    ({"received_on": "20/11/2026"}, 400, "is not a date (YYYY-MM-DD)"),
    ({"channel": "email"}, 400, "is not one of phone, letter, in_person, councillor, mp"),
    ({"channel": "carrier pigeon"}, 400, "is not one of phone"),
    ({"text": ""}, 400, "it is empty"),
    ({"contact_name": ""}, 400, "say who it is from"),
    ({"contact_name": "x" * 10_000}, 400, "the most is 200"),
    ({"contact_email": "kayla"}, 400, "is not an address like name@example.org"),
    ({"contact_phone": "²²²²²²²"}, 400, "is not a phone number"),
    ({"text": "a\x00b"}, 400, "NUL"),
    ({"received_on": 20261120}, 422, "received_on"),
    ({"channel": None}, 422, "channel"),
    ({"contact_adress": "typo"}, 422, "contact_adress"),
])
def test_a_bad_value_gets_a_clear_4xx_and_no_case(engine: Engine, change: dict, status: int, said: str) -> None:
    c = sign_in(app_for(engine), engine)
    response = api(c, {**CALL, **change})
    assert response.status_code == status, response.text
    assert said in str(response.json()["detail"])
    assert cases(engine) == []


def test_the_api_needs_a_signed_in_officer_and_the_csrf_token(engine: Engine) -> None:
    app = app_for(engine)
    assert client(app).post("/api/cases", json=CALL).status_code in (401, 403)
    c = sign_in(app, engine)
    assert c.post("/api/cases", json=CALL).status_code == 403  # no X-CSRF-Token
    token = c.get("/api/me").json()["csrf_token"]
    for body in (b"not json", b"[1, 2]", b"{"):
        response = c.post("/api/cases", content=body, headers={"X-CSRF-Token": token, "content-type": "application/json"})
        assert response.status_code == 422, body
    assert cases(engine) == []
    assert "/api/cases" in c.get("/api/openapi.json").json()["paths"]


# --- the form and the case page ---------------------------------------------------------------

def test_a_letter_with_a_scan_is_logged_through_the_form_and_acknowledged_by_post(engine: Engine) -> None:
    c = sign_in(app_for(engine), engine)
    assert 'href="/representations/new"' in c.get("/queue").text  # in the navigation
    response = post_form(c, {"channel": "letter", "received_on": "2026-11-16", "name": "Jane Jones",
                             "postal_address": "12 High Street\nNorthtown NT1 2AB", "text": "I am writing about my son's contact."},
                         files={"scan": ("letter.pdf", PDF, "application/pdf")})
    assert response.status_code == 303, response.text
    reference = cases(engine)[0].reference
    assert response.headers["location"] == f"/cases/{reference}?done=logged#top"
    with Session(engine) as session:
        [scan] = session.exec(select(Attachment)).all()
    assert (scan.filename, scan.content_type, scan.content) == ("letter.pdf", "application/pdf", PDF)
    page = c.get(response.headers["location"]).text
    assert "Logged: classified and in the queue." in page
    assert "Acknowledge by post or phone" in page and "12 High Street\nNorthtown NT1 2AB" in page
    assert "It was due by Thu 19 Nov 2026: it is late" in page  # received Mon 16, logged Mon 23
    assert f"Your reference is {reference}" in page and "If you contact us again about this, please give the reference." in page
    assert re.search(r"Attachment:\s*<a href=\"/cases/[^\"]+/attachments/\d+\" download>letter.pdf</a> \(application/pdf", page)
    token = csrf_token(c, f"/cases/{reference}")
    assert c.post(f"/cases/{reference}/acknowledged", data={"how": "letter", "on": "2026-11-24", "csrf_token": token}).status_code == 400
    done = c.post(f"/cases/{reference}/acknowledged", data={"how": "letter", "on": "", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{reference}?done=acknowledged#top"
    ack = deadline(engine, reference)
    assert (ack.status, ack.met_on, ack.next_action_on) == (DeadlineStatus.missed, date(2026, 11, 23), None)  # done, and late
    page = c.get(done.headers["location"]).text
    assert "Acknowledgement recorded." in page and "Acknowledge by post or phone" not in page
    assert "Acknowledgement sent by post on 2026-11-23" in page
    with Session(engine) as session:
        sent = session.exec(select(Message).where(Message.direction == Direction.outbound)).one()
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "acknowledged")).one()
    assert sent.channel is Channel.letter and f"Your reference is {reference}" in sent.text
    assert sent.sender == "Jane Jones · 12 High Street, Northtown NT1 2AB"  # the story's "To …"
    assert event.detail == {"how": "letter", "on": "2026-11-23", "late": True}
    again = c.post(f"/cases/{reference}/acknowledged", data={"how": "phone", "on": "", "csrf_token": token})
    assert again.status_code == 400 and "there is no acknowledgement waiting" in again.text


def test_an_acknowledgement_by_phone_on_time_meets_the_deadline(engine: Engine) -> None:
    c = sign_in(app_for(engine), engine)
    reference = api(c, {**CALL, "received_on": "2026-11-23"}).json()["reference"]
    page = c.get(f"/cases/{reference}").text
    assert "Due by Thu 26 Nov 2026." in page
    token = csrf_token(c, f"/cases/{reference}")
    for how, on, said in [("pigeon", "", "say how it was acknowledged"), ("phone", "2026-11-22", "cannot be before the day it was received"),
                          ("phone", "99", "is not a date")]:
        refused = c.post(f"/cases/{reference}/acknowledged", data={"how": how, "on": on, "csrf_token": token})
        assert refused.status_code == 400 and said in refused.text, how
    assert c.post(f"/cases/{reference}/acknowledged", data={"how": "phone", "on": "2026-11-23", "csrf_token": token}).status_code == 303
    assert deadline(engine, reference).status is DeadlineStatus.met


def test_with_an_email_address_there_is_nothing_to_acknowledge_by_hand_and_replies_go_by_email(engine: Engine) -> None:
    c = sign_in(app_for(engine), engine)
    reference = api(c, {**CALL, "contact_email": "kayla@example.org"}).json()["reference"]
    assert "Acknowledge by post or phone" not in c.get(f"/cases/{reference}").text  # the email is on its way
    page = c.get(f"/cases/{reference}").text
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert c.post(f"/cases/{reference}/reply", data={"body": "We will ring you on Tuesday.", "once": once,
                                                     "csrf_token": csrf_token(c, f"/cases/{reference}")}).status_code == 303
    with Session(engine) as session:
        sent = {(o.purpose, o.channel, o.recipient) for o in session.exec(select(OutboxItem))}
    assert sent == {("acknowledgement", Channel.email, "kayla@example.org"), ("reply", Channel.email, "kayla@example.org")}
    without = api(c, {**CALL, "received_on": "2026-11-23"}).json()["reference"]
    refused = c.post(f"/cases/{without}/reply", data={"body": "Hello", "once": "abc", "csrf_token": csrf_token(c, f"/cases/{without}")})
    assert refused.status_code == 400 and "there is no email address for this complainant to reply to: reply by post or phone" in refused.text


def test_an_email_case_whose_acknowledgement_failed_can_be_acknowledged_by_hand(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", suggestion=COMPLAINT)
    c = sign_in(app_for(engine), engine)
    assert "Acknowledge by post or phone" not in c.get(f"/cases/{reference}").text
    with Session(engine) as session:
        item = session.exec(select(OutboxItem)).one()
        item.status, item.last_error = "failed", "550 no such mailbox"
        session.add(item)
        session.commit()
    page = c.get(f"/cases/{reference}").text
    assert "The acknowledgement emailed to parent@example.org did not go (550 no such mailbox)" in page


def test_the_form_keeps_what_was_typed_and_says_what_is_wrong(engine: Engine) -> None:
    c = sign_in(app_for(engine, attachment_max_bytes=2048), engine)
    typed = {"channel": "in_person", "received_on": "2026-11-30", "name": "Sam Okafor", "text": "Came to reception about contact."}
    response = post_form(c, typed)
    assert response.status_code == 400
    assert "Not logged: the day it was received, Mon 30 Nov 2026, is after today" in response.text
    assert 'value="Sam Okafor"' in response.text and "Came to reception about contact." in response.text
    assert 'value="in_person" required checked' in response.text
    for files, said in [({"scan": ("letter.exe", b"MZ\x90\x00", "application/pdf")}, "is not a PDF or an image"),
                        ({"scan": ("big.pdf", PDF + b"x" * 3000, "application/pdf")}, "the most is 2 KB")]:
        refused = post_form(c, {**typed, "received_on": "2026-11-23"}, files)
        assert refused.status_code == 400 and said in refused.text
    assert cases(engine) == []


def test_a_scan_too_large_for_any_form_is_refused_before_it_is_read(engine: Engine) -> None:
    c = sign_in(app_for(engine, attachment_max_bytes=2048), engine)
    typed = {"channel": "letter", "received_on": "2026-11-23", "name": "Jane Jones", "text": "About contact."}
    response = post_form(c, typed, {"scan": ("huge.pdf", PDF + b"x" * MAX_UPLOAD_BYTES, "application/pdf")})
    assert response.status_code == 413 and cases(engine) == []  # past any form's limit (a reply's files need 12 MB)
    response = post_form(c, typed, {"scan": ("big.pdf", PDF + b"x" * (2 * 1024 * 1024), "application/pdf")})
    assert response.status_code == 400 and "scan" in response.text.lower() and cases(engine) == []


def test_a_form_with_a_file_is_refused_without_its_csrf_token(engine: Engine) -> None:
    c = sign_in(app_for(engine), engine)
    typed = {"channel": "letter", "received_on": "2026-11-23", "name": "Jane Jones", "text": "About contact.", "once": "abc"}
    scan = {"scan": ("letter.pdf", PDF, "application/pdf")}
    for token in ({}, {"csrf_token": "0" * 64}):
        refused = c.post("/representations", data={**typed, **token}, files=scan)
        assert refused.status_code == 403 and "This form has expired" in refused.text
    garbled = c.post("/representations", content=b"--x\r\nnot multipart at all",
                     headers={"content-type": "multipart/form-data; boundary=x"})
    assert garbled.status_code == 403
    assert cases(engine) == []


def test_a_logged_representation_is_found_by_its_callers_name_phone_and_address(engine: Engine) -> None:
    c = sign_in(app_for(engine), engine)
    reference = api(c, {**CALL, "contact_postal_address": "12 Larkspur Road\nNorthtown"}).json()["reference"]
    for words in ("Kayla Brown", "07700 900123", "Larkspur", "flat"):
        found = [r["reference"] for r in c.get("/api/search", params={"q": words}).json()["results"]]
        assert found == [reference], words


def test_a_logged_call_with_an_address_is_answered_by_email_and_shows_no_invented_time(engine: Engine) -> None:
    c = sign_in(app_for(engine), engine)
    reference = api(c, {**CALL, "contact_email": "kayla@example.org"}).json()["reference"]
    page = c.get(f"/cases/{reference}").text
    assert "Reply to the complainant by email" in page and "by phone</label>" not in page
    assert 'id="reply-files"' in page  # files go with an email reply
    assert "Fri 20 Nov 2026 by phone" in page and "12:00 UTC" not in page  # only the day was known
