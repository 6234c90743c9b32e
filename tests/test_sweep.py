"""The scheduler's sweep: reminders, escalations, acknowledgements, advocacy, the digest."""

from __future__ import annotations

import json
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Advocacy, AuditEvent, Deadline, OutboxItem, session_scope
from models.enums import AdvocacyAnswer, Channel, DeadlineKind, DeadlineStatus, Role
from scheduler.calendar import WorkingDayCalendar
from scheduler.chase import due_now
from scheduler.clock import Clock
from scheduler.policy import load_policy
from scheduler.sweep import Sweep
from tests.factories import LONDON, at, open_case
from tests.helpers import run_heard

CLOCK = Clock(load_policy())
# Received Mon 2 Nov 2026: stage 1 due Mon 16 Nov; reminders Wed 11, Fri 13, Mon 16; overdue from Tue 17.
RECEIVED = date(2026, 11, 2)
DUE = date(2026, 11, 16)


def sweep(engine: Engine, day: date, hour: int = 7, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return Sweep(engine, CLOCK, LONDON).run(at(day, hour), dry_run=dry_run)


def outbox(engine: Engine, purpose: str | None = None) -> list[OutboxItem]:
    with Session(engine) as session:
        query = select(OutboxItem).order_by(OutboxItem.id)
        if purpose:
            query = query.where(OutboxItem.purpose == purpose)
        return list(session.exec(query))


def test_reminders_fall_three_and_one_working_days_before_and_on_the_day() -> None:
    calendar = WorkingDayCalendar()
    assert due_now(calendar, DUE, date(2026, 11, 10), [3, 1, 0], 5).label is None
    assert due_now(calendar, DUE, date(2026, 11, 11), [3, 1, 0], 5).label == "before:3"
    assert due_now(calendar, DUE, date(2026, 11, 13), [3, 1, 0], 5).label == "before:1"
    assert due_now(calendar, DUE, date(2026, 11, 14), [3, 1, 0], 5).label == "before:1"  # Saturday: nothing new
    assert due_now(calendar, DUE, DUE, [3, 1, 0], 5).label == "before:0"
    assert due_now(calendar, DUE, date(2026, 11, 17), [3, 1, 0], 5).label == "overdue:1"
    assert due_now(calendar, DUE, date(2026, 11, 23), [3, 1, 0], 5).label == "overdue:1"
    assert due_now(calendar, DUE, date(2026, 11, 24), [3, 1, 0], 5).label == "overdue:2"  # a working week later


def test_it_reminds_the_owner_and_the_team_manager_three_working_days_before(sqlite_engine: Engine) -> None:
    open_case(sqlite_engine, CLOCK, RECEIVED)
    assert sweep(sqlite_engine, date(2026, 11, 10)).count("reminder") == 0  # never early
    result = sweep(sqlite_engine, date(2026, 11, 11))
    assert result.count("reminder") == 1
    sent = outbox(sqlite_engine, "reminder")
    assert sorted(o.recipient for o in sent) == ["manager@council.example", "owner@council.example"]
    assert "is due in 3 working days" in sent[0].subject and "Mon 16 Nov 2026" in sent[0].body


def test_a_second_sweep_the_same_day_sends_nothing_twice(engine: Engine) -> None:
    open_case(engine, CLOCK, RECEIVED)
    sweep(engine, date(2026, 11, 11))
    before = len(outbox(engine))
    assert sweep(engine, date(2026, 11, 11), hour=8).count("reminder") == 0
    assert len(outbox(engine)) == before


def test_after_downtime_one_escalation_replaces_the_missed_reminders(engine: Engine) -> None:
    open_case(engine, CLOCK, RECEIVED)
    result = sweep(engine, date(2026, 11, 19))  # first sweep since before the 11th
    assert [a["action"] for a in result.actions if a["action"] in ("reminder", "escalation")] == ["escalation"]
    [escalation] = [o for o in outbox(engine, "escalation") if o.idempotency_key.startswith("deadline:")]
    assert escalation.recipient == CLOCK.policy.council.complaints_manager_email
    assert "OVERDUE" in escalation.subject and "3 working days late" in escalation.subject
    assert outbox(engine, "reminder") == []
    assert result.missed >= 1


def test_the_escalation_repeats_weekly_while_overdue(sqlite_engine: Engine) -> None:
    open_case(sqlite_engine, CLOCK, RECEIVED)
    day, sent = date(2026, 11, 17), []
    while day <= date(2026, 12, 8):
        sent += [a["label"] for a in sweep(sqlite_engine, day).actions if a["action"] == "escalation"]
        day += timedelta(days=1)
    assert sent == ["overdue:1", "overdue:2", "overdue:3", "overdue:4"]


def test_a_met_deadline_is_no_longer_chased(sqlite_engine: Engine) -> None:
    open_case(sqlite_engine, CLOCK, RECEIVED)
    with sqlite_engine.begin() as conn:
        conn.execute(sa.update(Deadline).where(Deadline.kind == DeadlineKind.stage_1).values(status="met", met_on=date(2026, 11, 9)))
    assert sweep(sqlite_engine, date(2026, 11, 20)).count("escalation") == 0


def test_an_acknowledgement_not_sent_in_time_alerts_the_complaints_manager(sqlite_engine: Engine) -> None:
    open_case(sqlite_engine, CLOCK, RECEIVED)
    assert sweep(sqlite_engine, date(2026, 11, 5)).count("acknowledgement_missed") == 0  # due Thu 5th: not late yet
    assert sweep(sqlite_engine, date(2026, 11, 6)).count("acknowledgement_missed") == 1
    assert sweep(sqlite_engine, date(2026, 11, 9)).count("acknowledgement_missed") == 0
    assert "not acknowledged in time" in outbox(sqlite_engine, "escalation")[0].subject


def test_sending_the_acknowledgement_meets_its_deadline(sqlite_engine: Engine) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    from bots.email.relay import MailSender, Relay
    from tests.helpers import free_port

    case_id = open_case(sqlite_engine, CLOCK, RECEIVED)
    with session_scope(sqlite_engine) as session:
        session.add(OutboxItem(idempotency_key="acknowledgement:x", purpose="acknowledgement", channel=Channel.email,
                               recipient="parent@example.org", case_id=case_id, next_attempt_at=at(date(2026, 11, 3))))

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = MailSender(sqlite_engine, Relay("127.0.0.1", port, starttls=False), now=lambda: at(date(2026, 11, 3), 10))
        assert asyncio.run(sender.send_due()) == 1
    finally:
        controller.stop()
    with Session(sqlite_engine) as session:
        ack = session.exec(select(Deadline).where(Deadline.kind == DeadlineKind.acknowledgement)).one()
    assert (ack.status, ack.met_on) == (DeadlineStatus.met, date(2026, 11, 3))
    assert sweep(sqlite_engine, date(2026, 11, 9)).count("acknowledgement_missed") == 0


def test_an_unanswered_advocate_offer_is_followed_up_once_on_its_channel(engine: Engine) -> None:
    open_case(engine, CLOCK, RECEIVED, channel=Channel.telegram, address="4242", role=Role.child_or_young_person, advocate_offered=True)
    assert sweep(engine, date(2026, 11, 3)).count("advocacy_follow_up") == 0
    assert sweep(engine, date(2026, 11, 4)).count("advocacy_follow_up") == 1  # two working days after the offer
    assert sweep(engine, date(2026, 11, 10)).count("advocacy_follow_up") == 0
    [follow_up] = outbox(engine, "advocacy_follow_up")
    assert (follow_up.channel, follow_up.recipient) == (Channel.telegram, "4242")
    assert [b["text"] for b in follow_up.buttons] == ["Yes please", "No thanks", "What's an advocate?"]


def test_a_yes_refers_extends_stage_1_and_tells_the_young_person(engine: Engine) -> None:
    case_id = open_case(engine, CLOCK, RECEIVED, channel=Channel.webchat, address="session-1", role=Role.child_or_young_person,
                        advocate_offered=True)
    with session_scope(engine) as session:
        offer = session.exec(select(Advocacy)).one()
        offer.answer, offer.help_wanted, offer.safe_contact = AdvocacyAnswer.yes, "moving placement", "text after 4pm"
    assert sweep(engine, date(2026, 11, 3)).count("advocacy_referral") == 1
    [referral] = outbox(engine, "advocacy_referral")
    policy = CLOCK.policy
    assert referral.recipient == policy.advocacy.provider_email
    assert "moving placement" in referral.body and "text after 4pm" in referral.body
    with Session(engine) as session:
        stage_1 = session.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.kind == DeadlineKind.stage_1)).one()
        offer = session.exec(select(Advocacy)).one()
    assert (stage_1.original_due_on, stage_1.due_on, stage_1.extension_reason) == (DUE, date(2026, 11, 30), "advocate")
    assert offer.referral_sent_at is not None and offer.referral_outbox_id == referral.id
    [notice] = outbox(engine, "extension_notice")
    assert (notice.channel, notice.recipient) == (Channel.webchat, "session-1")
    assert "Monday 30 November 2026" in notice.body
    assert sweep(engine, date(2026, 11, 4)).count("advocacy_referral") == 0


def test_the_digest_goes_once_on_a_working_day_from_its_time(sqlite_engine: Engine) -> None:
    open_case(sqlite_engine, CLOCK, RECEIVED)
    assert sweep(sqlite_engine, date(2026, 11, 16), hour=7).count("digest") == 0  # before 08:30
    result = sweep(sqlite_engine, date(2026, 11, 16), hour=9)
    [digest] = [a for a in result.actions if a["action"] == "digest"]
    assert digest["due today"] == 1 and digest["need review"] == 1
    assert sweep(sqlite_engine, date(2026, 11, 16), hour=10).count("digest") == 0
    assert sweep(sqlite_engine, date(2026, 11, 21), hour=10).count("digest") == 0  # Saturday


def test_a_closed_request_window_is_noted_so_the_case_may_close(sqlite_engine: Engine) -> None:
    case_id = open_case(sqlite_engine, CLOCK, RECEIVED)
    with session_scope(sqlite_engine) as session:
        session.add(Deadline(case_id=case_id, kind=DeadlineKind.stage_2_request, due_on=date(2026, 12, 14)))
    assert sweep(sqlite_engine, date(2026, 12, 14)).count("window_closed") == 0
    assert sweep(sqlite_engine, date(2026, 12, 15)).count("window_closed") == 1
    with Session(sqlite_engine) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "window_closed")).one().case_id == case_id


def test_a_dry_run_changes_nothing(sqlite_engine: Engine) -> None:
    open_case(sqlite_engine, CLOCK, RECEIVED)
    assert sweep(sqlite_engine, date(2026, 11, 19), dry_run=True).count("escalation") == 1
    assert outbox(sqlite_engine) == []
    assert sweep(sqlite_engine, date(2026, 11, 19)).count("escalation") == 1


def test_heard_sweep_prints_what_it_sent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models import make_engine
    from models.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    engine = make_engine(url)
    open_case(engine, CLOCK, RECEIVED)
    engine.dispose()
    dry = run_heard("sweep", "--now", "2026-11-19T09:00", "--dry-run", "--json", database_url=url)
    assert dry.returncode == 0, dry.stderr
    assert [a["action"] for a in json.loads(dry.stdout)["actions"]].count("escalation") == 1
    real = run_heard("sweep", "--now", "2026-11-19T09:00", database_url=url)
    assert "escalation" in real.stdout and "1 deadline(s) newly missed" not in dry.stdout
    bad = run_heard("sweep", "--now", "next tuesday", database_url=url)
    assert bad.returncode == 2 and "is not an ISO 8601 time" in bad.stderr
