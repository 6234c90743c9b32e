"""Email intake with a real smtplib client against the running SMTP server."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Advocacy, Attachment, Case, Deadline, Message, OutboxItem
from models.enums import CaseStatus, Channel, DeadlineKind, Kind, MessageState, OutboxStatus, Role, SafeguardingLevel, TriageState
from tests.mailserver import OURS, MailServer


def email(body: str = "Nobody has rung me back about my son's contact for three weeks.", *, sender: str = "Jo Parent <parent@example.org>",
          subject: str = "Contact arrangements", html: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = OURS
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return crlf(message.as_bytes())


def crlf(raw: bytes) -> bytes:
    """Line endings as an MTA sends them."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def mail(engine: Engine) -> Iterator[MailServer]:
    server = MailServer(engine, max_bytes=256 * 1024, attachment_max_bytes=64 * 1024).start()
    yield server
    server.stop()


def messages(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.exec(select(Message).order_by(Message.id)))


def only_case(engine: Engine) -> Case:
    with Session(engine) as session:
        return session.exec(select(Case)).one()


def test_a_parents_email_becomes_a_case_with_an_acknowledgement(mail: MailServer, engine: Engine) -> None:
    raw = email()
    code, reply = mail.send(raw)
    assert code == 250
    mail.settle()
    [stored] = messages(engine)
    assert stored.raw_bytes == raw
    assert stored.state is MessageState.processed
    case = only_case(engine)
    assert re.fullmatch(r"CSC-20\d\d-\d{5}", case.reference)
    assert case.summary.startswith("Nobody has rung me back")
    with Session(engine) as session:
        kinds = {d.kind for d in session.exec(select(Deadline).where(Deadline.case_id == case.id))}
        ack = session.exec(select(OutboxItem)).one()
    assert kinds == {DeadlineKind.acknowledgement, DeadlineKind.stage_1}
    assert ack.recipient == "parent@example.org"
    assert ack.status is OutboxStatus.pending
    assert case.reference in ack.subject and case.reference in ack.body
    assert re.search(r"get back to you by \w+day \d+ \w+ 20\d\d", ack.body)
    assert "999" in ack.body and "0800 1111" in ack.body


def test_mail_for_anyone_else_is_refused_and_never_relayed(mail: MailServer) -> None:
    with mail.client() as smtp:
        smtp.ehlo()
        smtp.mail("spammer@example.net")
        code, reply = smtp.rcpt("victim@elsewhere.example")
    assert code == 550
    assert b"do not accept mail for this address" in reply


def test_a_message_over_the_size_limit_gets_552(mail: MailServer, engine: Engine) -> None:
    code, _ = mail.send(email("x" * (300 * 1024)))
    assert code == 552
    assert messages(engine) == []


def test_a_repeat_delivery_is_one_representation(mail: MailServer, engine: Engine) -> None:
    raw = email()
    assert mail.send(raw)[0] == 250
    code, reply = mail.send(raw)
    assert code == 250 and b"Already received" in reply
    mail.settle()
    assert len(messages(engine)) == 1
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 1


def test_a_reply_with_the_reference_threads_onto_its_case(mail: MailServer, engine: Engine) -> None:
    mail.send(email())
    mail.settle()
    reference = only_case(engine).reference
    mail.send(email("Just adding that the contact centre also cancelled.", subject=f"Re: We have your message [{reference}]"))
    mail.settle()
    first, second = messages(engine)
    assert second.case_id == first.case_id
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 1


def test_a_stranger_naming_a_reference_gets_a_case_of_their_own_and_hears_nothing_of_the_other(mail: MailServer, engine: Engine) -> None:
    mail.send(email())
    mail.settle()
    reference = only_case(engine).reference
    mail.send(email(f"I know about {reference}. What is happening with it?", sender="Stranger <someone@example.net>",
                    subject=f"Re: We have your message [{reference}]"))
    mail.settle()
    first, second = messages(engine)
    assert second.case_id != first.case_id  # the named case gained nothing
    with Session(engine) as session:
        named = session.exec(select(Case).where(Case.reference == reference)).one()
        theirs = session.get_one(Case, second.case_id)
        ack = session.exec(select(OutboxItem).where(OutboxItem.case_id == theirs.id)).one()
        assert session.exec(select(OutboxItem).where(OutboxItem.case_id == named.id)).one().recipient == "parent@example.org"
    assert theirs.names_case_id == named.id and theirs.triage_state is TriageState.needs_review
    assert ack.recipient == "someone@example.net" and theirs.reference in ack.subject
    assert reference not in ack.subject and reference not in ack.body


def test_automatic_mail_from_a_stranger_naming_a_reference_is_not_put_on_that_case(mail: MailServer, engine: Engine) -> None:
    mail.send(email())
    mail.settle()
    reference = only_case(engine).reference
    mail.send(email("I am out of the office.", sender="someone@example.net", subject=f"Auto: {reference}", Auto_Submitted="auto-replied"))
    mail.settle()
    assert messages(engine)[-1].case_id is None


def test_a_reply_to_our_acknowledgement_threads_by_in_reply_to(mail: MailServer, engine: Engine) -> None:
    mail.send(email())
    mail.settle()
    with Session(engine) as session:  # as the relay does when it sends the acknowledgement
        ack = session.exec(select(OutboxItem)).one()
        ack.provider_message_id = "<ack-1@heard.test>"
        session.commit()
    mail.send(email("thanks. one more thing", subject="Re: your email", In_Reply_To="<ack-1@heard.test>"))
    mail.settle()
    first, second = messages(engine)
    assert second.case_id == first.case_id


def test_unhappy_after_a_stage_response_is_a_possible_escalation(mail: MailServer, engine: Engine) -> None:
    mail.send(email())
    mail.settle()
    case = only_case(engine)
    with Session(engine) as session:
        session.execute(sa.update(Case).where(Case.id == case.id).values(status=CaseStatus.responded))
        session.commit()
    mail.send(email("I am not happy with your response and want to go to stage 2.", subject=f"Re: {case.reference}"))
    mail.settle()
    assert messages(engine)[-1].possible_escalation
    assert only_case(engine).possible_escalation


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Jo Parent <parent@example.org>"),
        ({"Precedence": "bulk"}, "News <news@example.org>"),
        ({"X_Autoreply": "yes"}, "Jo Parent <parent@example.org>"),
        ({}, "MAILER-DAEMON <mailer-daemon@example.org>"),
    ],
)
def test_automatic_mail_opens_no_case_and_gets_no_reply(mail: MailServer, engine: Engine, headers: dict[str, str], sender: str) -> None:
    assert mail.send(email(sender=sender, **headers))[0] == 250
    mail.settle()
    [stored] = messages(engine)
    assert stored.state is MessageState.ignored
    assert stored.error.startswith("automatic:")
    with Session(engine) as session:
        assert session.exec(select(Case)).all() == []
        assert session.exec(select(OutboxItem)).all() == []


def test_mail_from_our_own_address_is_kept_but_not_acknowledged(mail: MailServer, engine: Engine) -> None:
    mail.send(email(sender=OURS, subject="Forwarded: a worry"))
    mail.settle()
    with Session(engine) as session:
        ack = session.exec(select(OutboxItem)).one()
    assert ack.status is OutboxStatus.suppressed
    assert "our own addresses" in ack.last_error


def test_one_acknowledgement_per_sender_per_hour(mail: MailServer, engine: Engine) -> None:
    mail.send(email("first matter: my daughter's passport"))
    mail.send(email("second matter: the taxi to contact was late again", subject="Taxi"))
    mail.settle()
    with Session(engine) as session:
        statuses = [a.status for a in session.exec(select(OutboxItem).order_by(OutboxItem.id))]
        assert len(session.exec(select(Case)).all()) == 2
    assert statuses == [OutboxStatus.pending, OutboxStatus.suppressed]


def test_a_bounce_is_matched_to_the_outbox_item_it_reports_on(mail: MailServer, engine: Engine) -> None:
    mail.send(email())
    mail.settle()
    with Session(engine) as session:
        ack = session.exec(select(OutboxItem)).one()
        ack.provider_message_id, ack.status = "<ack-77@heard.test>", OutboxStatus.sent
        ack_id = ack.id
        session.commit()
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: complaints@council.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; parent@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: complaints@council.example\r\nMessage-ID: <ack-77@heard.test>\r\n"
        "--b--\r\n"
    ).encode()
    assert mail.send(dsn, mail_from="")[0] == 250
    mail.settle()
    with Session(engine) as session:
        ack = session.get_one(OutboxItem, ack_id)
    assert ack.status is OutboxStatus.failed
    assert ack.last_error.startswith("bounced:")
    assert messages(engine)[-1].state is MessageState.ignored


def test_hostile_html_only_mail_becomes_inert_text(mail: MailServer, engine: Engine) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", OURS, "=?utf-8?b?8J+YoSBjb21wbGFpbnQ=?="
    message.set_content('<p onclick="steal()">My son\'s social worker <b>never</b> calls</p><script>alert(1)</script><img src=x onerror=alert(2)>', subtype="html")
    mail.send(crlf(message.as_bytes()))
    mail.settle()
    [stored] = messages(engine)
    assert stored.text == "My son's social worker never calls"
    assert stored.subject == "😡 complaint"
    assert "<" not in stored.clean_text


def test_attachments_are_recorded_and_dangerous_ones_quarantined(mail: MailServer, engine: Engine) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "b@example.org", OURS, "papers"
    message.set_content("Please see the attached letter and photo.")
    message.add_attachment(b"%PDF-1.4 letter", maintype="application", subtype="pdf", filename="letter.pdf")
    message.add_attachment(b"MZ\x90\x00evil", maintype="application", subtype="octet-stream", filename="invoice.exe")
    message.add_attachment(b"\xff" * (100 * 1024), maintype="image", subtype="jpeg", filename="photo.jpg")
    assert mail.send(crlf(message.as_bytes()))[0] == 250
    mail.settle()
    with Session(engine) as session:
        found = {a.filename: a for a in session.exec(select(Attachment))}
    assert found["letter.pdf"].content == b"%PDF-1.4 letter" and not found["letter.pdf"].quarantined
    assert found["invoice.exe"].quarantined and "never opened" in found["invoice.exe"].note
    assert found["photo.jpg"].content is None and found["photo.jpg"].size == 100 * 1024
    assert "not kept" in found["photo.jpg"].note


def test_emoji_and_other_scripts_arrive_intact_over_smtputf8(mail: MailServer, engine: Engine) -> None:
    body = "Мой сын не видел сестру 3 месяца 😢 — لا أحد يرد على الهاتف — 誰も電話に出ません"
    raw = email(body, sender="Ольга <olga@пример.рф>")
    with mail.client() as smtp:
        smtp.ehlo()
        assert smtp.has_extn("smtputf8")
        smtp.sendmail("olga@пример.рф", [OURS], raw, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    mail.settle()
    [stored] = messages(engine)
    assert stored.raw_bytes == raw
    assert body in stored.text
    assert stored.sender == "olga@пример.рф"


def test_the_database_down_means_451_and_nothing_lost_once_it_is_back(sqlite_engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models import make_engine

    impatient = make_engine(str(sqlite_engine.url), busy_timeout_ms=0)
    server = MailServer(impatient, lock_patience=0.3).start()
    try:
        raw = email("please call me back about the review meeting")
        blocker = sqlite_engine.raw_connection()
        blocker.execute("BEGIN EXCLUSIVE")  # the database refuses every writer
        code, reply = server.send(raw)
        assert (code, reply[:5]) == (451, b"4.3.0")
        blocker.rollback()
        blocker.close()
        assert server.send(raw)[0] == 250  # the sender's retry
        server.settle()
    finally:
        server.stop()
        impatient.dispose()
    [stored] = messages(sqlite_engine)
    assert stored.raw_bytes == raw and stored.state is MessageState.processed


def test_the_server_still_answers_after_a_broken_message(mail: MailServer) -> None:
    mail.send(b"\x00\xff\xfe not an email at all \r\n\r\n\x00")
    mail.settle()
    with mail.client() as smtp:
        assert smtp.noop()[0] == 250


def test_without_a_from_header_the_envelope_sender_gets_the_acknowledgement(mail: MailServer, engine: Engine) -> None:
    mail.send(b"Subject: contact\r\n\r\nNobody rang me back about contact.\r\n", mail_from="me@example.org")
    mail.settle()
    with Session(engine) as session:
        ack = session.exec(select(OutboxItem)).one()
    assert (ack.recipient, ack.status) == ("me@example.org", OutboxStatus.pending)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_starttls_is_offered_when_a_certificate_is_configured(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ssl
    import subprocess

    from bots.email.server import tls_context

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=heard.test"], check=True, capture_output=True,
    )
    server = MailServer(engine, tls=tls_context(str(cert), str(key))).start()
    try:
        with server.client() as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            client_context = ssl.create_default_context(cafile=str(cert))
            client_context.check_hostname = False
            smtp.starttls(context=client_context)
            smtp.ehlo()
            smtp.sendmail("parent@example.org", [OURS], email("sent over TLS"))
        server.settle()
    finally:
        server.stop()
    assert "sent over TLS" in messages(engine)[0].text


@pytest.fixture
def classified_mail(engine: Engine) -> Iterator[MailServer]:
    from triage.suggest import suggest_with_classifier

    server = MailServer(engine, classify=suggest_with_classifier()).start()
    yield server
    server.stop()


def test_a_young_persons_email_is_classified_and_offered_an_advocate(classified_mail: MailServer, engine: Engine) -> None:
    classified_mail.send(email("hi im 15 and in foster care. my social worker keeps cancelling my contact with my mum "
                               "and nobody listens to me about it", sender="Kai <kai@example.org>", subject="contact"))
    classified_mail.settle()
    case = only_case(engine)
    assert (case.kind, case.complainant_role) == (Kind.complaint, Role.child_or_young_person)
    assert case.triage_detail["kind"] == "complaint"  # what the classifier said, kept for the queue
    assert case.triage_state is TriageState.needs_review  # people decide
    with Session(engine) as session:
        ack = session.exec(select(OutboxItem)).one()
        offers = session.exec(select(Advocacy)).all()
    assert "You can have an advocate" in ack.body and 'reply to this email with the word "advocate"' in ack.body
    assert [o.offered_on_channel for o in offers] == [Channel.email]


def test_a_disclosure_puts_the_safety_text_first_and_flags_the_case(classified_mail: MailServer, engine: Engine) -> None:
    classified_mail.send(email("my step dad hits me when mum is at work and he says if i tell anyone he will hurt her. "
                               "i dont want to go home tonight", sender="a@example.org", subject="help"))
    classified_mail.settle()
    case = only_case(engine)
    assert case.safeguarding and case.safeguarding_signals
    with Session(engine) as session:
        ack = session.exec(select(OutboxItem)).one()
    first = ack.body.split("\n\n")[0]
    assert "999" in first and "Childline" in first and "0800 1111" in first


def test_a_possible_concern_is_for_officers_and_the_acknowledgement_does_not_alarm(engine: Engine) -> None:
    from triage.intake import Suggestion

    guess = Suggestion(kind=Kind.complaint, confidence=0.9, role=Role.child_or_young_person,
                       safeguarding_level=SafeguardingLevel.possible, signals=["model:0.20"], needs_review=False)
    server = MailServer(engine, classify=lambda _text: guess).start()
    try:
        server.send(email("my pocket money hasnt been paid for weeks and now i cant go on the trip", sender="k@example.org"))
        server.settle()
    finally:
        server.stop()
    case = only_case(engine)
    assert case.safeguarding and case.safeguarding_level is SafeguardingLevel.possible
    with Session(engine) as session:
        ack = session.exec(select(OutboxItem)).one()
    first = ack.body.split("\n\n")[0]
    assert first.startswith("Thanks for telling us.") and "999" not in first  # no crisis reply on a guess
    assert "If you are not safe, get help now." in ack.body  # the calm standing line every message carries


@pytest.mark.parametrize(("reply", "answer"), [("advocate please", "yes"), ("Advocate", "yes"), ("no advocate thanks", "no")])
def test_replying_advocate_answers_the_offer(classified_mail: MailServer, engine: Engine, reply: str, answer: str) -> None:
    classified_mail.send(email("hi im 15 and in foster care. my social worker keeps cancelling my contact with my mum "
                               "and nobody listens to me about it", sender="Kai <kai@example.org>", subject="contact"))
    classified_mail.settle()
    reference = only_case(engine).reference
    classified_mail.send(email(reply, sender="Kai <kai@example.org>", subject=f"Re: We have your message [{reference}]"))
    classified_mail.settle()
    with Session(engine) as session:
        offer = session.exec(select(Advocacy)).one()
    assert offer.answer is not None and offer.answer.value == answer
