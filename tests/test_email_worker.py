"""The email worker's batches and claims: each stored message processed exactly once, even by
two workers at once; one that fails is marked failed while the rest of its batch goes on."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import Envelope
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bots.email.parse import ParsedEmail
from bots.email.processor import EmailProcessor
from bots.email.server import IntakeHandler
from models import AuditEvent, Case, Message, OutboxItem, make_engine
from models.enums import Kind, MessageState
from scheduler.clock import Clock
from scheduler.policy import load_policy
from tests.mailserver import OURS
from tests.test_email_intake import email
from triage.intake import Suggestion

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def store(engine: Engine, raws: Sequence[bytes]) -> list[int]:
    """Stored as the SMTP intake stores them, without a server."""
    handler = IntakeHandler(engine, [OURS], on_stored=lambda _id: None, now=lambda: NOW)
    envelope = Envelope()
    envelope.mail_from, envelope.rcpt_tos = "parent@example.org", [OURS]
    try:
        return [i for i, _ in handler._insert_batch([handler._row(raw, envelope) for raw in raws])]
    finally:
        handler.close()


def processor(engine: Engine, batch: int = 8, classify=None) -> EmailProcessor:  # type: ignore[no-untyped-def]
    return EmailProcessor(engine, Clock(load_policy()), ZoneInfo("Europe/London"), [OURS], classify=classify,
                          now=lambda: NOW, batch=batch)


class Counting:
    """A classifier that counts how it is asked."""

    def __init__(self) -> None:
        self.single: list[str] = []
        self.batches: list[list[str]] = []

    def __call__(self, text: str) -> Suggestion:
        self.single.append(text)
        return Suggestion(kind=Kind.complaint)

    def many(self, texts: Sequence[str]) -> list[Suggestion]:
        self.batches.append(list(texts))
        return [Suggestion(kind=Kind.complaint) for _ in texts]


class Breaks(EmailProcessor):
    """Fails on any message whose subject says so."""

    def _handle(self, session: Session, message: Message, parsed: ParsedEmail, now: datetime) -> None:
        if "break me" in parsed.subject:
            raise ValueError("this message cannot be handled")
        super()._handle(session, message, parsed, now)


def states(engine: Engine) -> list[tuple[MessageState, str]]:
    with Session(engine) as session:
        return [(m.state, m.error) for m in session.exec(select(Message).order_by(Message.id))]


def test_a_batch_is_classified_in_one_call_and_each_message_once(sqlite_engine: Engine) -> None:
    store(sqlite_engine, [email(f"nobody came to the review meeting, number {n}", sender=f"p{n}@example.org") for n in range(5)])
    classify = Counting()
    worker = processor(sqlite_engine, batch=8, classify=classify)
    try:
        assert worker.process_next() == 5
        assert worker.process_next() == 0
    finally:
        worker.worker.shutdown()
    assert len(classify.batches) == 1 and len(classify.batches[0]) == 5
    assert classify.single == []
    with Session(sqlite_engine) as session:
        assert [c.kind for c in session.exec(select(Case))] == [Kind.complaint] * 5
    assert {s for s, _ in states(sqlite_engine)} == {MessageState.processed}


def test_in_one_batch_each_message_sees_the_ones_before_it_as_if_done_one_at_a_time(engine: Engine) -> None:
    """A resend and a second message from the same sender arrive in the batch of the first."""
    first = email("nobody rang me back about contact", sender="jo@example.org")
    [mid] = re.findall(rb"Message-ID: <[^>]+>", first)
    resend = re.sub(rb"Message-ID: <[^>]+>", mid, email("nobody rang me back about contact, and the taxi was late", sender="jo@example.org"))
    copy = re.sub(rb"Message-ID: <[^>]+>", mid, first.replace(b"Subject:", b"X-Route: again\r\nSubject:"))
    later = email("and the review meeting was cancelled", sender="jo@example.org")
    other = email("my foster carer shouts at me", sender="sam@example.org")
    ids = store(engine, [first, resend, copy, later, other])
    worker = processor(engine, batch=8)
    try:
        assert worker.process_next() == 5
    finally:
        worker.worker.shutdown()
    with Session(engine) as session:
        m = {x.id: x for x in session.exec(select(Message))}
        cases = session.exec(select(Case).order_by(Case.id)).all()
        acks = session.exec(select(OutboxItem).order_by(OutboxItem.id)).all()
    assert [m[i].state for i in ids] == [MessageState.processed, MessageState.processed, MessageState.ignored,
                                         MessageState.processed, MessageState.processed]
    assert m[ids[1]].case_id == m[ids[0]].case_id and m[ids[1]].headers["possible_resend_of"] == ids[0]
    assert m[ids[2]].case_id == m[ids[0]].case_id and m[ids[2]].error == f"a copy of message {ids[0]}"
    assert len(cases) == 3 and [c.reference for c in cases] == [f"CSC-2026-{n:05d}" for n in (1, 2, 3)]
    assert m[ids[3]].contact_id == m[ids[0]].contact_id != m[ids[4]].contact_id
    assert [(a.recipient, a.status.value) for a in acks] == [
        ("jo@example.org", "pending"), ("jo@example.org", "suppressed"), ("sam@example.org", "pending")]


def test_a_message_that_fails_is_marked_failed_and_the_rest_of_its_batch_goes_on(engine: Engine) -> None:
    subjects = ["contact", "contact", "break me", "placement", "contact"]
    store(engine, [email(f"message {n}: nobody rang me back", sender=f"p{n}@example.org", subject=s)
                   for n, s in enumerate(subjects)])
    worker = Breaks(engine, Clock(load_policy()), ZoneInfo("Europe/London"), [OURS], now=lambda: NOW, batch=8)
    try:
        assert worker.process_next() == 5
        assert worker.process_next() == 0
    finally:
        worker.worker.shutdown()
    found = states(engine)
    assert [s for s, _ in found] == [MessageState.processed] * 2 + [MessageState.failed] + [MessageState.processed] * 2
    assert found[2][1] == "ValueError: this message cannot be handled"
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 4
        assert len(session.exec(select(OutboxItem)).all()) == 4


def test_one_message_processed_on_its_own_raises_its_failure_once_marked(sqlite_engine: Engine) -> None:
    [message_id] = store(sqlite_engine, [email("x", subject="break me")])
    worker = Breaks(sqlite_engine, Clock(load_policy()), ZoneInfo("Europe/London"), [OURS], now=lambda: NOW)
    try:
        with pytest.raises(ValueError):
            worker.process(message_id)
        worker.process(message_id)  # no longer stored: nothing to do
    finally:
        worker.worker.shutdown()
    assert states(sqlite_engine) == [(MessageState.failed, "ValueError: this message cannot be handled")]


def test_two_workers_process_every_message_exactly_once(engine: Engine) -> None:
    """Two workers, each with its own connections, racing over one queue; some senders write
    more than once, so both may try to make the same new contact."""
    total = 48
    store(engine, [email(f"message {n}: the contact centre cancelled again", sender=f"parent{n % 6}@example.org")
                   for n in range(total)])
    url = engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url), make_engine(url)]
    workers = [processor(e, batch=6) for e in engines]
    claimed = [0, 0]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(n: int) -> None:
        try:
            start.wait()
            while got := workers[n].process_next():
                claimed[n] += got
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for w, e in zip(workers, engines):
        w.worker.shutdown()
        e.dispose()
    assert not errors
    if engine.dialect.name == "postgresql":  # SKIP LOCKED shares the queue out
        assert all(claimed), f"each worker should have taken some of the queue: {claimed}"
    with Session(engine) as session:
        messages = session.exec(select(Message)).all()
        cases = session.exec(select(Case)).all()
        opened = session.exec(select(AuditEvent).where(AuditEvent.action == "opened")).all()
        refs = sorted(c.reference for c in cases)
    assert {m.state for m in messages} == {MessageState.processed}
    assert all(m.processed_at is not None and m.case_id is not None for m in messages)
    assert len(cases) == len(opened) == total
    assert len({o.detail["message_id"] for o in opened}) == total
    assert refs == [f"CSC-2026-{n:05d}" for n in range(1, total + 1)]  # none lost to a rolled-back batch


def test_two_workers_meeting_the_same_new_senders_at_once_share_one_contact_each(engine: Engine) -> None:
    """The race the test above can hit: both make contacts for the same new senders, in
    different orders. The second waits for the first, finds its identities, and drops the
    contacts it made (it once failed the message, or deadlocked the batch)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: the second waits before it reads")
    from models import ChannelIdentity, Contact
    from models.enums import Channel
    from triage.opening import contact_ids

    senders = [f"new{n}@example.org" for n in range(4)]
    first = Session(engine)
    mine = contact_ids(first, Channel.email, senders)
    theirs: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as session:
                theirs.append(contact_ids(session, Channel.email, list(reversed(senders)) + ["other@example.org"]))
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    racing = threading.Thread(target=second)
    racing.start()
    racing.join(1.0)
    assert racing.is_alive(), "the second should wait for the first's identities"
    first.commit()
    first.close()
    racing.join(30)
    assert not errors, errors
    assert {a: theirs[0][a] for a in senders} == mine
    with Session(engine) as session:
        assert len(session.exec(select(ChannelIdentity)).all()) == 5
        assert len(session.exec(select(Contact)).all()) == 5  # none left over from the one that waited


def test_the_claim_locks_rows_on_postgresql_and_skips_locked_ones(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer; FOR UPDATE is PostgreSQL's")
    from bots.email.queue import claim

    store(engine, [email(f"message {n}") for n in range(4)])
    with Session(engine) as first, Session(engine) as second:
        mine = [m.id for m in claim(first, 2)]
        theirs = [m.id for m in claim(second, 10)]
        assert len(mine) == 2 and len(theirs) == 2 and not set(mine) & set(theirs)
        first.rollback()  # a worker that dies lets its rows go
        second.rollback()
    with Session(engine) as again:
        assert len(claim(again, 10)) == 4


def test_nothing_stored_means_nothing_claimed(sqlite_engine: Engine) -> None:
    worker = processor(sqlite_engine)
    try:
        assert worker.process_next() == 0
    finally:
        worker.worker.shutdown()
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one() == 0


@pytest.mark.slow
def test_heard_serve_runs_the_workers_asked_for_on_postgresql_and_one_on_sqlite(database_url: str) -> None:
    import smtplib
    import subprocess
    import sys
    import time
    from pathlib import Path

    from models.migrate import upgrade
    from tests.helpers import ROOT, free_port, heard_env
    from tests.test_email_resilience import children

    upgrade(database_url)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "heard", "serve", "--only", "email"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=ROOT, env=heard_env(database_url=database_url, smtp_port=str(port), complaint_addresses=OURS,
                                           email_workers="2"),
    )
    engine = make_engine(database_url)
    try:
        assert proc.stdout is not None
        banner = ""
        for line in proc.stdout:
            banner += line
            if "Press Ctrl-C" in line:
                break
        expected = 2 if engine.dialect.name == "postgresql" else 1
        def spawned() -> list[str]:  # the workers, not multiprocessing's resource tracker
            lines = [Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace") for c in children(proc.pid)]
            return [line for line in lines if "spawn_main" in line]

        deadline = time.monotonic() + 10
        while len(spawned()) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # and no more come
        assert len(spawned()) == expected, [Path(f"/proc/{c}/cmdline").read_bytes() for c in children(proc.pid)]
        assert ("2 workers" in banner) == (expected == 2)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for n in range(10):
                smtp.sendmail("parent@example.org", [OURS], email(f"message {n}", sender=f"p{n}@example.org"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session(engine) as session:
                if not session.exec(select(Message.id).where(Message.state == MessageState.stored)).first():
                    break
            time.sleep(0.1)
        with Session(engine) as session:
            assert len(session.exec(select(Case)).all()) == 10
    finally:
        proc.send_signal(15)
        rest, _ = proc.communicate(timeout=30)
        engine.dispose()
    assert proc.returncode == 0 and "Traceback" not in rest


def test_on_sqlite_the_intake_comes_first_while_mail_arrives_and_the_worker_catches_up_after(sqlite_engine: Engine) -> None:
    from bots.email.queue import TakingTurns

    turns = TakingTurns(sqlite_engine)
    with Session(sqlite_engine) as session:
        store(sqlite_engine, [email("first")])
        assert turns.pause_after(session, held=0.01, waited=1) == pytest.approx(0.04)  # new mail: 4× the lock's hold
        assert turns.batch(16) == 2
        assert turns.pause_after(session, held=0.01, waited=1) == 0  # nothing new: flat out
        assert turns.batch(16) == 16
        store(sqlite_engine, [email("second")])
        assert turns.pause_after(session, held=0.02, waited=20) == pytest.approx(0.02)  # waiting 20 s: half each
        assert turns.batch(16) == 4
        store(sqlite_engine, [email("third")])
        assert turns.pause_after(session, held=0.02, waited=61) == 0  # over a minute: the worker first
        assert turns.batch(16) == 16


def test_on_postgresql_workers_never_pause_for_the_intake(engine: Engine) -> None:
    from bots.email.queue import TakingTurns

    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's writers do not wait for each other")
    turns = TakingTurns(engine)
    store(engine, [email("first")])
    with Session(engine) as session:
        assert turns.pause_after(session, held=0.05, waited=0) == 0
    assert turns.batch(16) == 16


def test_the_worker_pauses_only_while_new_mail_arrives(sqlite_engine: Engine) -> None:
    store(sqlite_engine, [email(f"message {n}", sender=f"p{n}@example.org") for n in range(6)])
    worker = processor(sqlite_engine, batch=4)
    try:
        assert worker.process_next() == 4 and worker.pause > 0  # the first look finds mail newer than it knew
        store(sqlite_engine, [email("one more", sender="q@example.org")])
        assert worker.process_next() == 2 and worker.pause > 0  # busy: two at a time
        assert worker.process_next() == 1 and worker.pause == 0  # nothing new since
        assert worker.process_next() == 0
    finally:
        worker.worker.shutdown()
    assert {s for s, _ in states(sqlite_engine)} == {MessageState.processed}
