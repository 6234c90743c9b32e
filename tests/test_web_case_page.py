"""The case page that says what to do next (issue #17, items 8–13): the stage, next due date and
owner in the header; actions grouped, closing confirmed, a used extension request gone; the
contact panel; one attachment downloaded on its own; reply templates, a preview before sending
and files on email replies; and two officers on one case, where a stale save is refused."""

from __future__ import annotations

import asyncio
import email.policy
import re
import threading
from datetime import UTC, datetime
from email.parser import BytesParser
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from desk.casework import Actor, Stale, save_on
from models import Attachment, AuditEvent, Case, Contact, Message, Officer, OutboxItem, ReplyTemplate, session_scope
from models.enums import CaseStatus, Channel, Kind, OfficerRole, OutboxStatus, Reason, Role, SafeguardingLevel
from tests.test_email_resilience import Sink, relayed
from tests.web_helpers import Now, add, case, csrf_token, form, make_app, open_case, sign_in
from triage.intake import Suggestion

RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Mon 16 Nov; stage 1 due Mon 30 Nov; today is Mon 23 Nov
COMPLAINT = Suggestion(kind=Kind.complaint, confidence=0.8, reasons=[Reason.communication], role=Role.parent_or_family)


def act(c, reference: str, action: str, data: dict):  # type: ignore[no-untyped-def]
    return form(c, f"/cases/{reference}/{action}", data, page=f"/cases/{reference}")


def version(c, reference: str) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="version" value="(\d+)"', c.get(f"/cases/{reference}").text).group(1)  # type: ignore[union-attr]


def actions(engine: Engine, reference: str) -> list[AuditEvent]:
    with Session(engine) as session:
        c = session.exec(select(Case).where(Case.reference == reference)).one()
        return list(session.exec(select(AuditEvent).where(AuditEvent.case_id == c.id).order_by(AuditEvent.id)))


def attach(engine: Engine, reference: str, filename: str, content: bytes | None, *, content_type: str = "application/pdf",
           quarantined: bool = False, note: str = "") -> int:
    with session_scope(engine) as session:
        c = session.exec(select(Case).where(Case.reference == reference)).one()
        message = session.exec(select(Message).where(Message.case_id == c.id)).first()
        row = Attachment(message_id=message.id, filename=filename, content_type=content_type,  # type: ignore[union-attr]
                         size=len(content or b""), content=content, quarantined=quarantined, note=note)
        session.add(row)
        session.flush()
        return row.id  # type: ignore[return-value]


def section(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start:page.index("</section>", start)]


# --- 8: the header ---------------------------------------------------------------------------

def test_the_header_says_the_stage_the_next_due_date_and_the_owner(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    head = c.get(f"/cases/{reference}").text
    head = head[head.index("data-case-head"):head.index("</dl>", head.index("data-case-head"))]
    assert "stage 1" in head and "nobody" in head
    # The acknowledgement (due Thu 19 Nov) was missed: it is the next thing due, and overdue.
    assert "Thu 19 Nov 2026" in head and "acknowledgement" in head and "2 working days overdue" in head
    officer_id = re.search(r'<option value="(\d+)" >olu</option>', c.get(f"/cases/{reference}").text).group(1)  # type: ignore[union-attr]
    assert act(c, reference, "assign", {"owner": officer_id}).status_code == 303
    act(c, reference, "reply", {"body": "Sorry.", "once": "x1"})  # a reply acknowledges (once sent)
    draft = next(i for i in outbox(engine) if i.purpose == "reply")
    act(c, reference, f"reply/{draft.id}/send", {})
    page = c.get(f"/cases/{reference}").text
    head = page[page.index("data-case-head"):page.index("</dl>", page.index("data-case-head"))]
    assert "Mon 30 Nov 2026" in head and "stage 1" in head and "5 working days left" in head and "olu" in head


# --- 9: actions grouped, closing confirmed, extension requests -----------------------------

def test_frequent_actions_come_first_then_stage_actions_and_the_rare_ones_are_folded_away(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    page = sign_in(make_app(engine), engine).get(f"/cases/{reference}").text
    order = [page.index(m) for m in ('id="reply-body"', "Confirm triage", "data-stage-actions", "<details class=\"more actions\"")]
    assert order == sorted(order)
    rare = page[page.index("<details class=\"more actions\""):page.index("</details>")]
    assert all(f"/cases/{reference}/{a}" in rare for a in ("close", "merge", "remedies", "referral"))
    stage = section(page, "data-stage-actions")
    assert all(f"/cases/{reference}/{a}" in stage for a in ("assign", "respond", "extend", "escalate", "convert"))


def test_a_flagged_case_shows_the_referral_with_the_frequent_actions_not_folded(engine: Engine) -> None:
    reference = open_case(engine, "He hits me.", received=RECEIVED,
                          suggestion=Suggestion(kind=Kind.complaint, safeguarding_level=SafeguardingLevel.disclosure, signals=["physical_abuse"]))
    page = sign_in(make_app(engine), engine).get(f"/cases/{reference}").text
    assert f"/cases/{reference}/referral" in page[:page.index("<details class=\"more actions\"")]
    assert f"/cases/{reference}/referral" not in page[page.index("<details class=\"more actions\""):]


def test_closing_needs_the_tick_box_and_without_it_nothing_changes(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{reference}").text
    assert 'name="confirm" value="yes"' in page and "required" in page[page.index('name="confirm"') - 100:page.index('name="confirm"') + 100]
    refused = act(c, reference, "close", {"why": "answered by phone"})
    assert refused.status_code == 400 and "tick “Yes, close this case” to confirm" in refused.text
    assert 'value="answered by phone"' in refused.text and "<details class=\"more actions\" data-more-actions open" in refused.text
    assert case(engine, reference).status is CaseStatus.open
    assert act(c, reference, "close", {"why": "answered by phone", "confirm": "yes"}).status_code == 303
    assert case(engine, reference).status is CaseStatus.closed


def test_request_extension_is_gone_once_used_and_cannot_be_sent_twice(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    app = make_app(engine)
    c = sign_in(app, engine)
    assert "Request extension" in c.get(f"/cases/{reference}").text
    assert act(c, reference, "extend", {"reason": "three teams involved"}).status_code == 303
    page = c.get(f"/cases/{reference}").text
    assert "Request extension" not in page and f"/cases/{reference}/extend" not in page
    assert "Extension requested by olu on 23 Nov 2026 (three teams involved): a manager will decide." in page
    again = act(c, reference, "extend", {"reason": "still waiting"})
    assert again.status_code == 400 and "olu already asked for an extension of this stage" in again.text
    assert [e.action for e in actions(engine, reference)].count("extension_requested") == 1
    manager = sign_in(app, engine, "meg", OfficerRole.manager)
    assert 'value="three teams involved"' in manager.get(f"/cases/{reference}").text  # the manager decides
    assert act(manager, reference, "extend", {"reason": "three teams involved"}).status_code == 303
    for who in (c, manager):
        page = who.get(f"/cases/{reference}").text
        assert f"/cases/{reference}/extend" not in page and "it cannot be extended again" in page


# --- 10: the contact panel -------------------------------------------------------------------

def test_the_contact_panel_lists_the_persons_channels_and_other_cases(engine: Engine) -> None:
    first = open_case(engine, "Nobody rang me back.", received=RECEIVED, sender="mum@example.org", subject="contact", suggestion=COMPLAINT)
    second = open_case(engine, "And the minutes never came.", received=datetime(2026, 11, 20, 9, tzinfo=UTC),
                       sender="mum@example.org", subject="minutes", suggestion=COMPLAINT)
    stranger = open_case(engine, "Thank you!", sender="other@example.org", subject="thanks")
    assert len({first, second, stranger}) == 3
    c = sign_in(make_app(engine), engine)
    panel = section(c.get(f"/cases/{first}").text, "data-contact")
    assert "email: mum@example.org" in panel and f'href="/cases/{second}"' in panel and stranger not in panel
    assert "received 20 Nov 2026" in panel
    alone = section(c.get(f"/cases/{stranger}").text, "data-contact")
    assert "None: this is their only case." in alone and "email: other@example.org" in alone


# --- 11: one attachment ----------------------------------------------------------------------

def test_one_attachment_downloads_on_its_own_under_a_safe_name_and_is_audited(engine: Engine) -> None:
    reference = open_case(engine, "See the letter attached.", received=RECEIVED)
    attachment = attach(engine, reference, '../../etc/"letter"\r\nX-Evil: 1.pdf', b"%PDF-1.4 the letter")
    c = sign_in(make_app(engine), engine)
    assert f'href="/cases/{reference}/attachments/{attachment}"' in c.get(f"/cases/{reference}").text
    response = c.get(f"/cases/{reference}/attachments/{attachment}")
    assert response.status_code == 200 and response.content == b"%PDF-1.4 the letter"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == "attachment; filename=\"_letter_X-Evil_ 1.pdf\"; filename*=UTF-8''_letter_X-Evil_%201.pdf"
    [event] = [e for e in actions(engine, reference) if e.action == "downloaded_attachment"]
    assert event.detail == {"attachment_id": attachment, "filename": "_letter_X-Evil_ 1.pdf"} and event.actor == "olu"


def test_a_name_outside_ascii_is_kept_for_browsers_that_read_it(engine: Engine) -> None:
    reference = open_case(engine, "See attached.", received=RECEIVED)
    attachment = attach(engine, reference, "Zoë’s letter.pdf", b"%PDF")
    response = sign_in(make_app(engine), engine).get(f"/cases/{reference}/attachments/{attachment}")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Zo__s letter.pdf\"; filename*=UTF-8''Zo%C3%AB%E2%80%99s%20letter.pdf")


def test_a_quarantined_attachment_is_refused_with_a_page_that_says_why(engine: Engine) -> None:
    reference = open_case(engine, "Invoice attached.", received=RECEIVED)
    attachment = attach(engine, reference, "invoice.exe", b"MZ\x90\x00", content_type="application/x-msdownload", quarantined=True)
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{reference}").text
    assert f"/attachments/{attachment}" not in page and "quarantined: a type that can run programs" in page
    response = c.get(f"/cases/{reference}/attachments/{attachment}")
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "Quarantined: not downloaded" in response.text and "invoice.exe is a type of file that can run programs" in response.text
    assert b"MZ" not in response.content and "content-disposition" not in response.headers
    assert [e.action for e in actions(engine, reference)].count("attachment_refused") == 1


def test_an_attachment_not_kept_or_not_on_this_case_is_a_clear_404(engine: Engine) -> None:
    reference = open_case(engine, "Big file.", received=RECEIVED)
    other = open_case(engine, "Another.", sender="x@example.org", subject="x")
    big = attach(engine, reference, "scan.tiff", None, note="not kept: larger than 10485760 bytes")
    elsewhere = attach(engine, other, "theirs.pdf", b"%PDF")
    c = sign_in(make_app(engine), engine)
    assert "not kept: larger than" in c.get(f"/cases/{reference}/attachments/{big}").text
    for path in (f"/cases/{reference}/attachments/{elsewhere}", f"/cases/{reference}/attachments/{'9' * 30}",
                 f"/cases/{reference}/attachments/²", f"/cases/{reference}/attachments/0"):
        response = c.get(path)
        assert response.status_code == 404 and "There is no such attachment" in response.text, path


# --- 12: reply templates, the preview, files on email replies ------------------------------

def admin_form(c, path: str, data: dict):  # type: ignore[no-untyped-def]
    return form(c, path, data, page="/admin/reply-templates")


def test_admins_add_change_and_delete_reply_templates_and_unknown_placeholders_are_refused(engine: Engine) -> None:
    app = make_app(engine)
    admin = sign_in(app, engine, "ada", OfficerRole.admin)
    refused = admin_form(admin, "/admin/reply-templates", {"name": "Holding", "body": "Dear {name}, about {refrence} and {x.y}"})
    assert refused.status_code == 400
    assert "{refrence} and {x.y} are not placeholders: the placeholders are {reference}, {date}, {name}, {officer}" in refused.text
    assert "Dear {name}, about {refrence}" in refused.text  # what was typed is kept
    with Session(engine) as session:
        assert session.exec(select(ReplyTemplate)).all() == []
    assert admin_form(admin, "/admin/reply-templates", {"name": "Holding", "body": "Dear {name}, we will reply by {date}."}).status_code == 303
    with Session(engine) as session:
        template = session.exec(select(ReplyTemplate)).one()
    assert admin_form(admin, "/admin/reply-templates", {"name": "Holding", "body": "x"}).status_code == 400  # names are unique
    assert admin_form(admin, f"/admin/reply-templates/{template.id}", {"name": "Holding", "body": "{oops}"}).status_code == 400
    assert admin_form(admin, f"/admin/reply-templates/{template.id}", {"name": "Holding reply", "body": "Hello {name}."}).status_code == 303
    with Session(engine) as session:
        assert (session.get_one(ReplyTemplate, template.id).name, session.get_one(ReplyTemplate, template.id).body) == ("Holding reply", "Hello {name}.")
    assert admin_form(admin, f"/admin/reply-templates/{template.id}/delete", {}).status_code == 303
    with Session(engine) as session:
        assert session.exec(select(ReplyTemplate)).all() == []
        done = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.action.startswith("reply_template")))]
    assert done == ["reply_template_added", "reply_template_changed", "reply_template_deleted"]
    officer = sign_in(app, engine, "olu")
    assert officer.get("/admin/reply-templates").status_code == 403
    assert form(officer, "/admin/reply-templates", {"name": "Mine", "body": "x"}, page="/queue").status_code == 403


def outbox(engine: Engine) -> list[OutboxItem]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxItem).order_by(OutboxItem.id)))


def test_a_template_is_filled_for_the_case_previewed_then_sent(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, sender="mum@example.org", subject="contact", suggestion=COMPLAINT)
    with session_scope(engine) as session:
        session.add(ReplyTemplate(name="Holding", body="Dear {name},\nyour reference is {reference}; you will hear by {date}.\n{officer}"))
        c = session.exec(select(Case).where(Case.reference == reference)).one()
        session.get_one(Contact, c.contact_id).display_name = "Mrs Okafor"
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{reference}?template=1").text
    filled = f"Dear Mrs Okafor,\nyour reference is {reference}; you will hear by Monday 30 November 2026.\nolu"
    assert f'<textarea id="reply-body" name="body" rows="8">{filled}</textarea>' in page
    assert "no longer exists" in c.get(f"/cases/{reference}?template=99").text
    assert act(c, reference, "reply", {"body": filled + " Ref again: {reference}.", "once": "k1"}).headers["location"].endswith("done=draft#top")
    [draft] = [i for i in outbox(engine) if i.purpose == "reply"]
    assert draft.status is OutboxStatus.draft and draft.body.endswith(f"Ref again: {reference}.")
    preview = section(c.get(f"/cases/{reference}").text, 'id="preview"')
    assert "mum@example.org" in preview and f"Re: contact [{reference}]" in preview and "Mrs Okafor" in preview
    assert "replied" not in [e.action for e in actions(engine, reference)]  # nothing sent by previewing
    assert act(c, reference, f"reply/{draft.id}/send", {}).headers["location"].endswith("done=reply#top")
    assert outbox(engine)[-1].status is OutboxStatus.pending
    assert 'id="preview"' not in c.get(f"/cases/{reference}").text


def test_changing_a_previewed_reply_discards_it_and_puts_its_words_back(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    act(c, reference, "reply", {"body": "Hello, sorry.", "once": "k2"})
    [draft] = [i for i in outbox(engine) if i.purpose == "reply"]
    back = act(c, reference, f"reply/{draft.id}/discard", {})
    assert back.status_code == 200 and ">Hello, sorry.</textarea>" in back.text and "nothing was sent" in back.text
    assert [i for i in outbox(engine) if i.purpose == "reply"] == []
    assert act(c, reference, f"reply/{draft.id}/send", {}).status_code == 400  # gone: nothing to send


def reply_with_files(c, reference: str, files: list, body: str = "Please see the letter attached.", once: str = "f1"):  # type: ignore[no-untyped-def]
    token = csrf_token(c, f"/cases/{reference}")
    return c.post(f"/cases/{reference}/reply", data={"csrf_token": token, "body": body, "once": once},
                  files=[("attachments", f) for f in files])


def test_files_attached_to_an_email_reply_are_stored_previewed_and_sent_as_mime_attachments(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, sender="mum@example.org", subject="contact", suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    response = reply_with_files(c, reference, [("outcome letter.pdf", b"%PDF-1.4 letter", "application/pdf"),
                                               ("notes.txt", "ça va".encode(), "text/plain")])
    assert response.status_code == 303, response.text
    [draft] = [i for i in outbox(engine) if i.purpose == "reply"]
    with Session(engine) as session:
        files = list(session.exec(select(Attachment).where(Attachment.outbox_id == draft.id).order_by(Attachment.id)))
    assert [(f.filename, f.content_type, f.size, f.message_id) for f in files] == [
        ("outcome letter.pdf", "application/pdf", 15, None), ("notes.txt", "text/plain", 6, None)]
    preview = section(c.get(f"/cases/{reference}").text, 'id="preview"')
    assert f'href="/cases/{reference}/attachments/{files[0].id}"' in preview
    assert c.get(f"/cases/{reference}/attachments/{files[0].id}").content == b"%PDF-1.4 letter"
    act(c, reference, f"reply/{draft.id}/send", {})
    if engine.dialect.name != "sqlite":
        return  # the relay's own tests run on SQLite; the rest holds on both
    sink = Sink()
    for item in outbox(engine):  # only the reply is due now
        if item.id != draft.id:
            with session_scope(engine) as session:
                session.get_one(OutboxItem, item.id).status = OutboxStatus.sent
    sender, controller = relayed(sink, engine)
    try:
        assert asyncio.run(sender.send_due()) == 1
    finally:
        controller.stop()
    [envelope] = sink.envelopes
    sent = BytesParser(policy=email.policy.default).parsebytes(envelope.original_content)
    parts = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in sent.iter_attachments()]
    assert parts == [("outcome letter.pdf", "application/pdf", b"%PDF-1.4 letter"), ("notes.txt", "text/plain", "ça va".encode())]
    assert "Please see the letter attached." in sent.get_body(("plain",)).get_content()
    with Session(engine) as session:
        message = session.exec(select(Message).where(Message.dedupe_key == f"outbox:{draft.id}")).one()
        assert {f.message_id for f in session.exec(select(Attachment).where(Attachment.outbox_id == draft.id))} == {message.id}


def test_files_too_many_too_large_dangerous_or_on_a_chat_reply_are_refused_and_nothing_is_kept(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    chat = open_case(engine, "nobody listens", sender="chat-1", subject="", channel=Channel.webchat, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    cases = [
        (reference, [("big.pdf", b"x" * (7 * 1024 * 1024 + 1), "application/pdf")], "a reply can carry at most 7 MB"),
        (reference, [(f"{i}.pdf", b"x", "application/pdf") for i in range(6)], "attach at most 5 files"),
        (reference, [("run.exe", b"MZ", "application/octet-stream")], "run.exe is a type of file that can run programs"),
        (reference, [("empty.pdf", b"", "application/pdf")], "empty.pdf is empty"),
        (chat, [("a.pdf", b"%PDF", "application/pdf")], "files can be attached to email replies only"),
    ]
    for ref, files, said in cases:
        response = reply_with_files(c, ref, files, body="Kept in the box.")
        assert response.status_code == 400 and said in response.text, said
        assert ">Kept in the box.</textarea>" in response.text
    assert [i for i in outbox(engine) if i.purpose == "reply"] == []
    with Session(engine) as session:
        assert session.exec(select(Attachment)).all() == []


def test_a_reply_form_with_files_still_needs_its_csrf_token(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    response = c.post(f"/cases/{reference}/reply", data={"body": "hi", "once": "z", "csrf_token": "0" * 64},
                      files=[("attachments", ("a.pdf", b"%PDF", "application/pdf"))])
    assert response.status_code == 403 and "expired" in response.text
    assert outbox(engine) and [i for i in outbox(engine) if i.purpose == "reply"] == []


# --- 13: two officers on one case ------------------------------------------------------------

def test_a_stale_save_is_refused_naming_who_changed_the_case_and_when_and_nothing_is_overwritten(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    now = Now()
    app = make_app(engine, now, idle_minutes=120)
    olu, sam = sign_in(app, engine, "olu"), sign_in(app, engine, "sam")
    seen_by_olu, seen_by_sam = version(olu, reference), version(sam, reference)
    assert seen_by_olu == seen_by_sam == "1"
    now.later(minutes=42)
    saved = act(sam, reference, "remedies", {"learning": "Ring back within a day.", "version": seen_by_sam})
    assert saved.status_code == 303
    refused = act(olu, reference, "remedies", {"learning": "Send minutes.", "version": seen_by_olu})
    assert refused.status_code == 400
    assert f"{reference} was changed by sam at 10:42 on Mon 23 Nov 2026, after you opened it. Nothing was saved" in refused.text
    assert ">Send minutes.</textarea>" in refused.text  # olu's words are kept to save again
    kept = case(engine, reference)
    assert (kept.learning, kept.version, kept.changed_by) == ("Ring back within a day.", 2, "sam")
    assert 'name="version" value="2"' in refused.text  # the refusal shows the case as it is now
    assert act(olu, reference, "remedies", {"learning": "Send minutes.", "version": "2"}).status_code == 303
    assert (case(engine, reference).learning, case(engine, reference).version) == ("Send minutes.", 3)


def test_every_save_on_the_page_carries_the_version_and_a_note_is_never_stale(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    c = sign_in(make_app(engine), engine)
    page = c.get(f"/cases/{reference}").text
    forms = re.findall(r'<form method="post" action="(/cases/[^"]+)"[^>]*>(.*?)</form>', page, re.S)
    assert len(forms) >= 10
    assert all('name="version" value="1"' in body for action, body in forms if not action.endswith("/note")), forms
    assert act(c, reference, "triage", {"kind": "complaint", "reasons": "communication", "version": "1"}).status_code == 303
    for action, data in [("triage", {"kind": "initial_feedback"}), ("assign", {}), ("extend", {"reason": "r"}),
                         ("close", {"why": "w", "confirm": "yes"}), ("convert", {"to": "initial_feedback"})]:
        response = act(c, reference, action, {**data, "version": "1"})
        assert response.status_code == 400 and "was changed by olu" in response.text, action
    assert act(c, reference, "note", {"text": "rang mum", "version": "1"}).status_code == 303
    assert case(engine, reference).kind is Kind.complaint and case(engine, reference).status is CaseStatus.open
    bad = act(c, reference, "assign", {"version": "²"})
    assert bad.status_code == 400 and "the version of the case" in bad.text


def test_sending_a_previewed_reply_after_someone_else_changed_the_case_is_refused(engine: Engine) -> None:
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    app = make_app(engine)
    olu, sam = sign_in(app, engine, "olu"), sign_in(app, engine, "sam")
    act(olu, reference, "reply", {"body": "We will ring today.", "once": "r1", "version": "1"})
    [draft] = [i for i in outbox(engine) if i.purpose == "reply"]
    assert act(sam, reference, "note", {"text": "a note is not a change"}).status_code == 303
    assert act(sam, reference, "assign", {"version": "1"}).status_code == 303
    refused = act(olu, reference, f"reply/{draft.id}/send", {"version": "1"})
    assert refused.status_code == 400 and "was changed by sam" in refused.text
    assert outbox(engine)[-1].status is OutboxStatus.draft  # not sent: olu reads what changed first


def test_two_saves_racing_on_the_same_version_cannot_both_win(engine: Engine) -> None:
    """The second UPDATE waits for the first's lock, then finds the version moved: refused."""
    reference = open_case(engine, "Nobody rang me back.", received=RECEIVED, suggestion=COMPLAINT)
    add(engine, "olu")
    add(engine, "sam")
    at = datetime(2026, 11, 23, 10, 42, tzinfo=UTC)
    first = Session(engine)
    olu = first.exec(select(Officer).where(Officer.name == "olu")).one()
    save_on(first, first.exec(select(Case).where(Case.reference == reference)).one(), Actor(olu, at, ZoneInfo("Europe/London")), 1)
    outcome: list[object] = []

    def second_save() -> None:
        with Session(engine) as session:
            sam = session.exec(select(Officer).where(Officer.name == "sam")).one()
            found = session.exec(select(Case).where(Case.reference == reference)).one()
            try:
                save_on(session, found, Actor(sam, at, ZoneInfo("Europe/London")), 1)
                session.commit()
                outcome.append("saved")
            except Stale as exc:
                outcome.append(str(exc))

    racer = threading.Thread(target=second_save)
    racer.start()
    racer.join(timeout=1)
    assert racer.is_alive()  # waiting for the first save's lock
    first.commit()
    first.close()
    racer.join(timeout=30)
    assert outcome == [f"{reference} was changed by olu at 10:42 on Mon 23 Nov 2026, after you opened it. "
                       "Nothing was saved: read what changed, then save again."]
    assert (case(engine, reference).version, case(engine, reference).changed_by) == (2, "olu")
