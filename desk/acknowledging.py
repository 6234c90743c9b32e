"""Acknowledging by post or phone. A representation Heard cannot write back on (a call, a letter,
a visit, with no email address) — or whose emailed acknowledgement did not go — is acknowledged
by the officer: the case page gives the words to send (from `scheduler.wording`, like every
acknowledgement), and the officer records that they sent them, which meets the clock's
acknowledgement (or, after its due date, counts it late, as the annual report must).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from models import Case, Deadline, Message, OutboxItem
from models.enums import CaseStatus, Channel, DeadlineKind, DeadlineStatus, Direction, Kind, MessageState, OutboxStatus
from scheduler import wording
from triage.opening import YOUNG
from desk.casework import LIVE, Actor, Refused, audit, live_case

ON_ITS_WAY = (OutboxStatus.pending, OutboxStatus.sending, OutboxStatus.sent)
HOW = {Channel.letter: "by post", Channel.phone: "by phone", Channel.in_person: "in person"}


@dataclass(frozen=True)
class ByHand:
    """What the case page shows while an acknowledgement waits for an officer."""

    deadline: Deadline
    text: str  # the words to post or read out
    contact: dict[str, str]  # name, email, phone, postal_address, as logged ({} when not logged)
    email_failed: OutboxItem | None  # the emailed acknowledgement that did not go, if that is why
    late: bool  # its due date has passed


def by_hand(case: Case, deadlines: list[Deadline], story: list[Any], today: date) -> ByHand | None:
    """The acknowledgement an officer must send, or None when none is owed or one is on its way.

    `deadlines` and `story` are the case page's own (so the panel reads nothing more).
    """
    due = _open_acknowledgement(deadlines)
    if due is None or case.status in (CaseStatus.closed, CaseStatus.merged):
        return None
    emailed = [i.outbox for i in story if getattr(i, "outbox", None) is not None and i.outbox.purpose == "acknowledgement"]
    if any(o.status in ON_ITS_WAY for o in emailed):
        return None
    failed = emailed[-1] if emailed else None
    if failed is None and not case.channel.logged:
        return None  # a channel Heard writes on, which has not tried yet
    logged = next((i.message for i in story if getattr(i, "message", None) is not None and i.message.channel.logged
                   and i.message.direction is Direction.inbound and i.message.raw_json), None)
    contact = dict((logged.raw_json or {}).get("contact") or {}) if logged else {}
    return ByHand(due, words(case, deadlines, today), contact, failed, due.due_on < today)


def words(case: Case, deadlines: list[Deadline], today: date) -> str:
    """The acknowledgement to send by hand: the same as an email's, said for post or phone."""
    reply_by = next((d.due_on for d in deadlines if d.kind in (DeadlineKind.initial_feedback, DeadlineKind.stage_1)
                     and d.status is not DeadlineStatus.superseded), today)
    compliment = case.kind is Kind.compliment
    return wording.acknowledgement(case.reference, reply_by, young_person=case.complainant_role in YOUNG and not compliment,
                                   safeguarding=case.disclosure, compliment=compliment, by_hand=True, late=reply_by < today)


def _open_acknowledgement(deadlines: list[Deadline]) -> Deadline | None:
    return next((d for d in deadlines if d.kind is DeadlineKind.acknowledgement and d.status in LIVE and d.met_on is None), None)


def record(session: Session, case: Case, actor: Actor, *, how: str, on: date) -> Deadline:
    """The officer sent the acknowledgement `how` (post, phone, in person) `on` a day: the
    deadline is met, or missed but done when that day is after it was due; the words sent join
    the story; audited."""
    live_case(case)
    try:
        channel = Channel(how)
    except ValueError:
        channel = None
    if channel not in HOW:
        raise Refused("say how it was acknowledged: by post, by phone or in person")
    received_on = case.received_at.astimezone(actor.zone).date()
    if on > actor.today:
        raise Refused("an acknowledgement cannot be recorded for a day that has not come")
    if on < received_on:
        raise Refused(f"the acknowledgement cannot be before the day it was received ({received_on.isoformat()})")
    deadlines = list(session.exec(select(Deadline).where(Deadline.case_id == case.id)))
    due = _open_acknowledgement(deadlines)
    if due is None:
        raise Refused("there is no acknowledgement waiting: it is already done, or none is owed")
    due.status = DeadlineStatus.met if on <= due.due_on else DeadlineStatus.missed
    due.met_on, due.next_action_on = on, None
    text = words(case, deadlines, actor.today)
    to = session.exec(select(Message.sender).where(Message.case_id == case.id, Message.direction == Direction.inbound)
                      .order_by(Message.id)).first()  # the story says "To …": who it went to, as logged
    session.add(Message(
        dedupe_key=f"acknowledged-by-hand:{case.id}", channel=channel, direction=Direction.outbound,
        state=MessageState.processed, case_id=case.id, contact_id=case.contact_id, sender=to or "",
        subject=f"Acknowledgement sent {HOW[channel]} on {on.isoformat()}", text=text, clean_text=text,
        received_at=actor.now, processed_at=actor.now,
    ))
    audit(session, actor, case, "acknowledged", how=channel.value, on=on.isoformat(), late=on > due.due_on)
    return due
