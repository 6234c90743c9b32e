"""Subject access: everything held about a person, found by email, phone or Telegram chat, in one
zip (a readable index.html with no scripts, a data.json, the originals and files), with third
parties' details withheld where officers marked them, and the export audited."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from models import Attachment, AuditEvent, Case, Message, OutboxItem, session_scope
from models.audit_chain import verify
from models.enums import Channel, Direction
from scheduler.clock import Clock
from scheduler.policy import load_policy
from triage.intake import contact_for
from triage.logged import Logged, log
from desk.subject_access import NobodyFound, export, gather, mark_withheld, one_calendar_month, record_request
from tests.helpers import run_heard
from tests.web_helpers import LONDON, open_case

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
STORY = "Nobody rang me back. <b>Mrs Jones at 12 Elm Road</b> said my son could not visit."


def _people(engine: Engine) -> tuple[str, str]:
    mine = open_case(engine, STORY, sender="Parent@Example.org",
                     raw=f"Subject: about my son\r\nFrom: Parent@Example.org\r\n\r\n{STORY}\r\n".encode())
    theirs = open_case(engine, "Someone else entirely, about their daughter.", sender="other@example.org")
    with session_scope(engine) as session:
        message = session.exec(select(Message).join(Case, Case.id == Message.case_id).where(Case.reference == mine)).one()
        session.add(Attachment(message_id=message.id, filename="../letter.pdf", content_type="application/pdf",
                               size=4, content=b"%PDF"))
    return mine, theirs


def _export(engine: Engine, address: str) -> tuple[zipfile.ZipFile, dict]:  # type: ignore[type-arg]
    with session_scope(engine) as session:
        request = record_request(session, address, date(2026, 11, 27), actor="Meg", now=NOW)
        archive = export(session, request, actor="Meg", now=NOW)
    z = zipfile.ZipFile(io.BytesIO(archive.data))
    return z, json.loads(z.read("data.json"))


@pytest.mark.parametrize("received, due", [(date(2026, 1, 31), date(2026, 2, 28)), (date(2028, 1, 31), date(2028, 2, 29)),
                                           (date(2026, 12, 15), date(2027, 1, 15)), (date(2026, 3, 31), date(2026, 4, 30))])
def test_a_request_is_due_one_calendar_month_after_it_was_received(received: date, due: date) -> None:
    assert one_calendar_month(received) == due


def test_the_answer_holds_every_case_message_original_file_outbox_item_and_audit_entry(engine: Engine) -> None:
    mine, theirs = _people(engine)
    z, data = _export(engine, "parent@example.ORG")  # an email address in any case
    assert [c["reference"] for c in data["cases"]] == [mine]
    assert data["cases"][0]["deadlines"] and theirs not in json.dumps(data)
    (message,) = data["messages"]
    assert message["text"] == STORY and z.read(message["original"]).endswith(f"{STORY}\r\n".encode())
    (attachment,) = data["attachments"]
    assert attachment["file"] == f"attachments/{attachment['id']}-letter.pdf" and z.read(attachment["file"]) == b"%PDF"
    assert [o["purpose"] for o in data["outbox"]] == ["acknowledgement"]
    assert "opened" in {e["action"] for e in data["audit"]}
    index = z.read("index.html").decode()
    assert "<script" not in index.lower() and "&lt;b&gt;Mrs Jones" in index and "<b>Mrs" not in index
    assert "default-src 'none'" in index and data["withheld"] == [] and "Nothing has been withheld" in index
    with session_scope(engine) as session:
        done = session.exec(select(AuditEvent).where(AuditEvent.action == "subject_access_exported")).one()
        assert done.actor == "Meg" and done.detail["references"] == [mine] and done.detail["counts"]["messages"] == 1
        assert verify(session).whole


def test_marked_third_party_details_are_withheld_everywhere_and_listed(engine: Engine) -> None:
    mine, _ = _people(engine)
    with session_scope(engine) as session:
        message = session.exec(select(Message).join(Case, Case.id == Message.case_id).where(Case.reference == mine)).one()
        mark_withheld(session, message, "mrs jones at 12 elm road", "the foster carer's name and address", actor="Olu", now=NOW)
    z, data = _export(engine, "parent@example.org")
    assert data["messages"][0]["text"] == "Nobody rang me back. <b>[withheld]</b> said my son could not visit."
    assert data["messages"][0]["original"] is None
    assert [(w["what"], w["why"]) for w in data["withheld"]] == [
        ("words in the message", "the foster carer's name and address"),
        ("the original as received", "it holds a third party's details that officers marked to withhold")]
    for name in z.namelist():
        assert b"elm road" not in z.read(name).lower(), name
    assert "the foster carer&#39;s name and address" in z.read("index.html").decode()


def test_words_not_in_the_message_cannot_be_marked(engine: Engine) -> None:
    from models.values import BadValue

    mine, _ = _people(engine)
    with session_scope(engine) as session:
        message = session.exec(select(Message).join(Case, Case.id == Message.case_id).where(Case.reference == mine)).one()
        with pytest.raises(BadValue, match="does not contain"):
            mark_withheld(session, message, "Mr Smith", "a neighbour", actor="Olu", now=NOW)


def test_a_phone_number_finds_the_calls_logged_with_it_however_it_was_typed(engine: Engine) -> None:
    with session_scope(engine) as session:
        call = Logged(Channel.phone, date(2026, 11, 20), "A care leaver rang: no help with her flat.", "Amira",
                      phone="07700 900123")
        reference = log(session, call, once="call-1", officer="Olu", clock=Clock(load_policy(None)), zone=LONDON, now=NOW).reference
    _, data = _export(engine, "+44 7700 900123")
    assert [c["reference"] for c in data["cases"]] == [reference]
    assert data["messages"][0]["original"] == f"originals/message-{data['messages'][0]['id']}.json"


def test_a_telegram_chat_id_finds_the_young_persons_messages(engine: Engine) -> None:
    with session_scope(engine) as session:
        contact = contact_for(session, Channel.telegram, "123456789", "Kai")
        session.add(Message(dedupe_key="tg:1", channel=Channel.telegram, direction=Direction.inbound, contact_id=contact.id,
                            raw_json={"update_id": 1, "message": {"text": "hi"}}, text="hi", received_at=NOW))
        session.add(OutboxItem(idempotency_key="tg:reply:1", purpose="reply", channel=Channel.telegram,
                               recipient="123456789", body="Thanks for telling us."))
    z, data = _export(engine, "telegram:123456789")
    assert data["contacts"][0]["display_name"] == "Kai" and data["messages"][0]["text"] == "hi"
    assert json.loads(z.read(data["messages"][0]["original"]))["update_id"] == 1
    assert data["outbox"][0]["body"] == "Thanks for telling us."


def test_nobody_held_is_a_clear_refusal(engine: Engine) -> None:
    _people(engine)
    with session_scope(engine) as session, pytest.raises(NobodyFound, match="nothing is held about 'ghost@example.org'"):
        gather(session, "ghost@example.org")


def test_heard_subject_access_writes_the_zip_and_says_when_it_is_due(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mine, _ = _people(engine)
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "answer.zip"
    done = run_heard("subject-access", "parent@example.org", "--out", str(out), "--received", "2026-01-31", database_url=url)
    assert done.returncode == 0, done.stderr
    assert "1 cases, 1 messages" in done.stdout and "due by Sat 28 Feb 2026" in done.stdout
    assert json.loads(zipfile.ZipFile(out).read("data.json"))["cases"][0]["reference"] == mine
    missing = run_heard("subject-access", "ghost@example.org", "--out", str(tmp_path / "none.zip"), database_url=url)
    assert missing.returncode == 1 and "nothing is held about 'ghost@example.org'" in missing.stderr
    assert not (tmp_path / "none.zip").exists()
    with session_scope(engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "subject_access_exported")).scalar_one() == 1
