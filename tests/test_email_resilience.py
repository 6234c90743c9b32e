"""What a killed process and an outbound relay do to mail: nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import signal
import smtplib
import subprocess
import sys
import time
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bots.email.relay import MailSender, Relay
from models import Case, Message, OutboxItem, make_engine, session_scope
from models.enums import Channel, MessageState, OutboxStatus
from tests.helpers import ROOT, free_port, heard_env, run_heard
from tests.test_email_intake import email


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def serve_email(db: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "heard", "serve", "--only", "email"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=ROOT,
        env=heard_env(database_url=f"sqlite:///{db}", smtp_port=str(port), complaint_addresses="complaints@council.example"),
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Press Ctrl-C" in line:
            return proc
    raise AssertionError("heard serve did not start")


@pytest.mark.slow
def test_the_process_killed_right_after_250_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "heard.db"
    assert run_heard("db", "upgrade", database_url=f"sqlite:///{db}").returncode == 0
    port = free_port()
    proc = serve_email(db, port)
    raws = [email(f"message {n}: nobody came to the review meeting") for n in range(5)]
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for raw in raws:
                smtp.sendmail("parent@example.org", ["complaints@council.example"], raw)
            workers = children(proc.pid)
            proc.send_signal(signal.SIGKILL)  # right after the last 250, no chance to finish
    finally:
        proc.wait(10)
    assert workers, "heard serve runs its email worker as a child process"
    deadline = time.monotonic() + 15
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(w) for w in workers), "the email worker outlived a killed heard serve"
    proc = serve_email(db, port)  # the restart picks up whatever was left half-done
    try:
        engine = make_engine(f"sqlite:///{db}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session(engine) as session:
                states = [m.state for m in session.exec(select(Message))]
            if states and all(s is MessageState.processed for s in states):
                break
            time.sleep(0.1)
        with Session(engine) as session:
            stored = {m.raw_bytes for m in session.exec(select(Message))}
            cases = session.exec(select(Case)).all()
        assert stored == set(raws)
        assert len(cases) == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        engine.dispose()


class Sink:
    """A relay on loopback that answers as told and keeps what it accepts."""

    def __init__(self, answer: str | None = None) -> None:
        self.answer, self.received, self.envelopes = answer, [], []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.answer:
            return self.answer
        self.envelopes.append(envelope)
        self.received.append(BytesParser().parsebytes(envelope.original_content))
        return "250 OK"


def outbox_item(engine: Engine) -> int:
    with session_scope(engine) as session:
        item = OutboxItem(idempotency_key="ack:1", purpose="acknowledgement", channel=Channel.email,
                          recipient="parent@example.org", subject="We have your message [CSC-2026-00001]", body="Thanks.")
        session.add(item)
        session.flush()
        return item.id  # type: ignore[return-value]


def relayed(sink: Sink, engine: Engine) -> tuple[MailSender, Controller]:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return MailSender(engine, Relay("127.0.0.1", port, starttls=False, mail_from="complaints@council.example")), controller


def test_the_relay_sends_each_item_once_with_a_message_id_that_threads(sqlite_engine: Engine) -> None:
    item_id = outbox_item(sqlite_engine)
    sink = Sink()
    sender, controller = relayed(sink, sqlite_engine)
    try:
        assert asyncio.run(sender.send_due()) == 1
        assert asyncio.run(sender.send_due()) == 0  # nothing twice
    finally:
        controller.stop()
    [sent] = sink.received
    with Session(sqlite_engine) as session:
        item = session.get_one(OutboxItem, item_id)
        record = session.exec(select(Message).where(Message.direction == "outbound")).one()
    assert item.status is OutboxStatus.sent
    assert sent["Message-ID"] == item.provider_message_id == record.external_id
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Subject"] == "We have your message [CSC-2026-00001]"


def test_a_temporary_refusal_is_retried_later(sqlite_engine: Engine) -> None:
    item_id = outbox_item(sqlite_engine)
    sender, controller = relayed(Sink("451 4.3.0 try later"), sqlite_engine)
    try:
        assert asyncio.run(sender.send_due()) == 0
    finally:
        controller.stop()
    with Session(sqlite_engine) as session:
        item = session.get_one(OutboxItem, item_id)
    assert (item.status, item.attempts) == (OutboxStatus.pending, 1)
    assert item.next_attempt_at > item.created_at
    assert "451" in item.last_error


def test_a_permanent_refusal_is_shown_as_failed(sqlite_engine: Engine) -> None:
    item_id = outbox_item(sqlite_engine)
    sender, controller = relayed(Sink("550 5.1.1 no such user"), sqlite_engine)
    try:
        asyncio.run(sender.send_due())
    finally:
        controller.stop()
    with Session(sqlite_engine) as session:
        item = session.get_one(OutboxItem, item_id)
    assert item.status is OutboxStatus.failed
    assert "550" in item.last_error


def test_an_unreachable_relay_keeps_the_item_for_later(sqlite_engine: Engine) -> None:
    item_id = outbox_item(sqlite_engine)
    sender = MailSender(sqlite_engine, Relay("127.0.0.1", free_port(), starttls=False, timeout=2))
    asyncio.run(sender.send_due())
    with Session(sqlite_engine) as session:
        assert session.get_one(OutboxItem, item_id).status is OutboxStatus.pending


def utf8_item(engine: Engine, recipient: str) -> int:
    with session_scope(engine) as session:
        item = OutboxItem(idempotency_key=f"ack:{recipient}", purpose="acknowledgement", channel=Channel.email,
                          recipient=recipient, subject="We have your message [CSC-2026-00001]", body="Thanks.")
        session.add(item)
        session.flush()
        return item.id  # type: ignore[return-value]


def test_an_international_address_is_sent_with_smtputf8_when_the_relay_offers_it(sqlite_engine: Engine) -> None:
    item_id = utf8_item(sqlite_engine, "zoë@exämple.org")
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    try:
        sender = MailSender(sqlite_engine, Relay("127.0.0.1", port, starttls=False, mail_from="complaints@council.example"))
        assert asyncio.run(sender.send_due()) == 1
    finally:
        controller.stop()
    [envelope] = sink.envelopes
    assert envelope.rcpt_tos == ["zoë@exämple.org"]
    assert "To: zoë@exämple.org".encode() in envelope.original_content  # as it is (RFC 6532), not RFC 2047-encoded
    with Session(sqlite_engine) as session:
        assert session.get_one(OutboxItem, item_id).status is OutboxStatus.sent


def test_without_smtputf8_at_the_relay_an_international_address_fails_with_a_clear_reason(sqlite_engine: Engine) -> None:
    item_id = utf8_item(sqlite_engine, "zoë@exämple.org")
    garbled = utf8_item(sqlite_engine, "zo\ufffd\ufffd@ex\ufffd\ufffdmple.org")
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)  # a relay without SMTPUTF8
    controller.start()
    sender = MailSender(sqlite_engine, Relay("127.0.0.1", port, starttls=False, mail_from="complaints@council.example"))
    try:
        assert asyncio.run(sender.send_due()) == 0
    finally:
        controller.stop()
    assert sink.received == []  # nothing sent to a mangled address, or mangled on the way
    with Session(sqlite_engine) as session:
        item, bad = session.get_one(OutboxItem, item_id), session.get_one(OutboxItem, garbled)
    assert item.status is OutboxStatus.failed and "does not offer SMTPUTF8" in item.last_error
    assert bad.status is OutboxStatus.failed and "could not be read correctly" in bad.last_error
