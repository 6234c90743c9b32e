"""What real servers send, read right, over real SMTP: long lines, raw 8-bit headers (RFC 6532)
and international addresses, a Message-ID reused for a different message, and text in parts
that are easy to miss."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Case, Message, OutboxItem
from models.enums import MessageState
from tests.mailserver import OURS, MailServer
from tests.test_email_intake import crlf, email, messages

HEAD = f"To: {OURS}\r\nMessage-ID: <{{mid}}@example.org>\r\n"


@pytest.fixture
def mail(engine: Engine) -> Iterator[MailServer]:
    server = MailServer(engine, max_bytes=4 * 1024 * 1024).start()
    yield server
    server.stop()


def outbox(engine: Engine) -> list[OutboxItem]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxItem)))


# --- accept what real servers send -----------------------------------------------------------

def test_a_valid_message_with_one_very_long_line_is_accepted_and_kept_exactly(mail: MailServer, engine: Engine) -> None:
    raw = (f"From: parent@example.org\r\n{HEAD.format(mid='long')}Subject: one long line\r\n\r\n"
           "Nobody rang back. " + "x" * 1_500_000 + "\r\n").encode()
    code, reply = mail.send(raw)
    assert code == 250, reply
    mail.settle()
    [stored] = messages(engine)
    assert stored.raw_bytes == raw and stored.text.startswith("Nobody rang back.")


def test_a_bare_lf_message_that_arrives_as_one_long_line_is_accepted(mail: MailServer, engine: Engine) -> None:
    body = "\n".join(f"line {n}: my son has not seen his sister since the summer" for n in range(30_000))
    raw = f"From: parent@example.org\nTo: {OURS}\nSubject: bare LF\n\n{body}\n".encode()
    assert len(raw) > 1_500_000
    with mail.client() as smtp:  # sent raw, as a careless MTA does: no line ends SMTP would recognise
        smtp.ehlo()
        smtp.mail("parent@example.org")
        smtp.rcpt(OURS)
        smtp.putcmd("DATA")
        assert smtp.getreply()[0] == 354
        smtp.send(raw + b"\r\n.\r\n")
        code, reply = smtp.getreply()
    assert code == 250, reply
    mail.settle()
    [stored] = messages(engine)
    assert stored.raw_bytes == raw + b"\r\n"


def test_a_line_longer_than_the_size_limit_is_a_552_not_a_500(mail: MailServer) -> None:
    raw = f"From: parent@example.org\r\n{HEAD.format(mid='huge')}Subject: huge\r\n\r\n".encode() + b"y" * (5 * 1024 * 1024) + b"\r\n"
    code, reply = mail.send(raw)
    assert code == 552, reply


# --- read what they say ----------------------------------------------------------------------

def test_raw_utf8_headers_over_smtputf8_are_read_and_the_acknowledgement_goes_to_the_exact_address(mail: MailServer, engine: Engine) -> None:
    raw = (f"From: Zoë Brontë <zoë@exämple.org>\r\n{HEAD.format(mid='zoe')}Subject: Säying Hello — 你好\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nNobody rang me back about contact with my brother.\r\n").encode()
    with mail.client() as smtp:
        smtp.ehlo()
        assert smtp.sendmail("zoë@exämple.org", [OURS], raw, mail_options=["SMTPUTF8", "BODY=8BITMIME"]) == {}
    mail.settle()
    [stored] = messages(engine)
    assert (stored.sender, stored.subject) == ("zoë@exämple.org", "Säying Hello — 你好")
    assert "\ufffd" not in stored.subject + stored.sender
    [ack] = outbox(engine)
    assert ack.recipient == "zoë@exämple.org"


def test_a_legacy_8bit_header_is_read_in_the_messages_own_charset(mail: MailServer, engine: Engine) -> None:
    raw = (b"From: J\xe9r\xf4me Dupont <jerome@example.fr>\r\n" + HEAD.format(mid="fr").encode()
           + b"Subject: Probl\xe8me de contact\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
           b"Personne ne m'a rappel\xe9 depuis trois semaines.\r\n")
    assert mail.send(raw, mail_from="jerome@example.fr")[0] == 250
    mail.settle()
    [stored] = messages(engine)
    assert stored.subject == "Problème de contact"
    assert "rappelé" in stored.text


def test_a_different_message_reusing_a_message_id_is_kept_on_the_same_case_as_a_possible_resend(mail: MailServer, engine: Engine) -> None:
    import re

    first = re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <reused@example.org>", email("Nobody has rung me back about contact."))
    second = first.replace(b"Nobody has rung me back about contact.", b"Also my son's placement moved without notice.")
    relayed = b"Received: from mx2.example.org by relay.example.net; Mon, 23 Nov 2026 10:00:00 +0000\r\n" + first
    for raw in (first, second, relayed):
        assert mail.send(raw)[0] == 250
        mail.settle()
    one, two, three = messages(engine)
    with Session(engine) as session:
        [case] = session.exec(select(Case)).all()
        resend = session.exec(select(AuditEvent).where(AuditEvent.action == "possible_resend")).one()
    assert two.case_id == case.id and two.state is MessageState.processed
    assert two.headers["possible_resend_of"] == one.id and "placement moved" in two.text
    assert resend.detail["earlier_message_id"] == one.id
    assert three.state is MessageState.ignored and three.error == f"a copy of message {one.id}"  # same words, another route


RFC_2046_EXAMPLE = (
    "From: Nathaniel Borenstein <nsb@example.org>\r\nTo: " + OURS + "\r\nSubject: Sample message\r\nMIME-Version: 1.0\r\n"
    "Content-type: multipart/mixed; boundary=\"simple\r\n boundary\"\r\n\r\n"
    "This is the preamble.  It is to be ignored, though it\r\nis a handy place for composition agents to include an\r\n"
    "explanatory note to non-MIME conformant readers.\r\n\r\n--simple boundary\r\n\r\n"
    "This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak.\r\n--simple boundary\r\n"
    "Content-type: text/plain; charset=us-ascii\r\n\r\nThis is explicitly typed plain US-ASCII text.\r\n"
    "It DOES end with a linebreak.\r\n\r\n--simple boundary--\r\n\r\nThis is the epilogue.  It is also to be ignored.\r\n"
)


@pytest.mark.parametrize(("raw", "words"), [
    (RFC_2046_EXAMPLE.encode(), "This is explicitly typed plain US-ASCII text."),
    (crlf(f"From: parent@example.org\nTo: {OURS}\nSubject: named inline text\nMIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/plain; charset=utf-8; name=\"message.txt\"\n"
          "Content-Disposition: inline; filename=\"message.txt\"\n\nMy daughter's review meeting was cancelled again.\n--b1--\n".encode()),
     "My daughter's review meeting was cancelled again."),
    (crlf(f"From: parent@example.org\nTo: {OURS}\nSubject: no semicolon\nMIME-Version: 1.0\n"
          "Content-Type: multipart/mixed\n\tboundary=\"b2\"\n\n--b2\nContent-Type: text/plain\n\nThe foster carer shouted at my son.\n--b2--\n".encode()),
     "The foster carer shouted at my son."),
    (crlf(f"From: parent@example.org\nTo: {OURS}\nSubject: only an attached file\nMIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=b3\n\n--b3\nContent-Type: text/plain; name=\"complaint.txt\"\n"
          "Content-Disposition: attachment; filename=\"complaint.txt\"\n\nI want to complain about the assessment.\n--b3--\n".encode()),
     "I want to complain about the assessment."),
])
def test_text_that_is_there_is_read(mail: MailServer, engine: Engine, raw: bytes, words: str) -> None:
    assert mail.send(raw)[0] == 250
    mail.settle()
    [stored] = messages(engine)
    assert words in stored.text
    assert stored.state is MessageState.processed and stored.case_id is not None
