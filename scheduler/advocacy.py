"""Advocacy, the sweep's part: follow up an unanswered offer once, and refer a young person who
said yes — a referral email to the provider, stage 1 extended for the advocate, and the young
person told their new date on the channel they used.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import Advocacy, Case, ChannelIdentity, Contact, Deadline, audit_chain
from models.enums import AdvocacyAnswer, DeadlineKind, Kind, Procedure
from scheduler import wording
from scheduler.chase import first_action_on
from scheduler.clock import CaseEvents, Clock
from scheduler.outbox import enqueue, row

if TYPE_CHECKING:
    from scheduler.sweep import SweepResult

A, C, D = Advocacy.__table__, Case.__table__, Deadline.__table__
ADVOCATE_BUTTONS = [
    {"text": "Yes please", "data": "advocate:yes"},
    {"text": "No thanks", "data": "advocate:no"},
    {"text": "What's an advocate?", "data": "advocate:what"},
]


def address_of(conn: Connection, contact_id: int | None, channel: str) -> str | None:
    if contact_id is None:
        return None
    i = ChannelIdentity.__table__
    return conn.execute(sa.select(i.c.address).where(i.c.contact_id == contact_id, i.c.channel == channel)).scalar()


def advocacy_pass(conn: Connection, clock: Clock, zone: ZoneInfo, today: date, now: datetime, result: SweepResult) -> None:
    _follow_ups(conn, clock, zone, today, now, result)
    _referrals(conn, clock, zone, today, now, result)


def _follow_ups(conn: Connection, clock: Clock, zone: ZoneInfo, today: date, now: datetime, result: SweepResult) -> None:
    after = clock.policy.reminders.advocacy_follow_up_after
    waiting = conn.execute(sa.select(A.c.id, A.c.case_id, A.c.contact_id, A.c.offered_at, A.c.offered_on_channel, C.c.reference)
                           .join(C, C.c.id == A.c.case_id)
                           .where(A.c.answer.is_(None), A.c.followed_up_at.is_(None))).all()
    rows = []
    for offer_id, case_id, contact_id, offered_at, channel, reference in waiting:
        if clock.calendar.working_days_between(offered_at.astimezone(zone).date(), today) < after:
            continue
        to = address_of(conn, contact_id, channel)
        if to:
            rows.append(row(f"advocacy-follow-up:{offer_id}", "advocacy_follow_up", channel, to,
                            f"An advocate for you [{reference}]", wording.ADVOCATE_FOLLOW_UP, now,
                            case_id=case_id, contact_id=contact_id, buttons=ADVOCATE_BUTTONS))
        conn.execute(sa.update(A).where(A.c.id == offer_id, A.c.followed_up_at.is_(None)).values(followed_up_at=now))
        result.actions.append({"action": "advocacy_follow_up", "case": reference, "sent": bool(to)})
    enqueue(conn, rows)


def _referrals(conn: Connection, clock: Clock, zone: ZoneInfo, today: date, now: datetime, result: SweepResult) -> None:
    policy = clock.policy
    accepted = conn.execute(sa.select(A, C.c.reference, C.c.received_at, C.c.procedure, C.c.kind).join(C, C.c.id == A.c.case_id)
                            .where(A.c.answer == AdvocacyAnswer.yes.value, A.c.referral_sent_at.is_(None))).all()
    for a in accepted:
        name = conn.execute(sa.select(Contact.__table__.c.display_name).where(Contact.__table__.c.id == a.contact_id)).scalar() or ""
        body = policy.advocacy.referral_template.format(
            provider=policy.advocacy.provider_name, reference=a.reference, name=name or "(not given)",
            help_wanted=a.help_wanted or "(not said yet)", safe_contact=a.safe_contact or "(not said yet)",
            channel=a.offered_on_channel, council=policy.council.name,
        )
        referral = row(f"advocacy-referral:{a.id}", "advocacy_referral", "email", policy.advocacy.provider_email,
                       f"Advocacy referral {a.reference}", body, now, case_id=a.case_id)
        enqueue(conn, [referral])
        outbox_id = conn.execute(sa.text("SELECT id FROM outboxitem WHERE idempotency_key = :k"), {"k": referral["idempotency_key"]}).scalar()
        conn.execute(sa.update(A).where(A.c.id == a.id, A.c.referral_sent_at.is_(None))
                     .values(referral_sent_at=now, referral_outbox_id=outbox_id))
        new_date = extend_stage_1_for_advocate(conn, clock, zone, case_id=a.case_id, received_at=a.received_at,
                                               procedure=a.procedure, kind=a.kind)
        to = address_of(conn, a.contact_id, a.offered_on_channel)
        if new_date and to:
            enqueue(conn, [row(f"advocacy-new-date:{a.id}", "extension_notice", a.offered_on_channel, to,
                               f"Your new date [{a.reference}]", wording.advocate_new_date(a.reference, new_date), now,
                               case_id=a.case_id, contact_id=a.contact_id)])
        audit_chain.queue(conn, at=now, actor="scheduler", case_id=a.case_id, action="advocacy_referral",
                          detail={"outbox_id": outbox_id, "new_stage_1_date": str(new_date or "")})
        result.actions.append({"action": "advocacy_referral", "case": a.reference, "new_date": str(new_date or "")})


def extend_stage_1_for_advocate(conn: Connection, clock: Clock, zone: ZoneInfo, *, case_id: int, received_at: datetime,
                                procedure: str, kind: str | None) -> date | None:
    """Stage 1 goes to its extended length with the reason "advocate" — once, and only if not
    extended already. Returns the new date, or None when there was nothing to extend. The chat
    calls it when a young person says yes, so that they hear the new date once, in that reply;
    the referral then finds it done and sends no second date."""
    stage_1 = conn.execute(sa.select(D.c.id, D.c.due_on).where(
        D.c.case_id == case_id, D.c.kind == DeadlineKind.stage_1.value, D.c.status.in_(["open", "missed"]),
        D.c.original_due_on.is_(None))).first()
    if stage_1 is None:
        return None
    extended = next(d for d in clock.deadlines(CaseEvents(
        received_on=received_at.astimezone(zone).date(), procedure=Procedure(procedure),
        kind=Kind(kind) if kind else None, stage_1_extended=True,
    )) if d.kind is DeadlineKind.stage_1)
    conn.execute(sa.update(D).where(D.c.id == stage_1.id).values(
        original_due_on=stage_1.due_on, due_on=extended.due_on, explanation=extended.explanation, status="open",
        extension_reason="advocate", last_action="",
        next_action_on=first_action_on(clock.calendar, extended.due_on, clock.policy.reminders.before_due)))
    return extended.due_on
