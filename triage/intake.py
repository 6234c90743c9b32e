"""Intake: a stored message becomes part of a case — threaded onto one it belongs to, or a new
case with a reference number, its classification, its deadlines, an advocate offer for a
young person, and an acknowledgement in the outbox. Channel-agnostic; adapters call it.

References are sequential, so anyone can guess one: naming a reference joins that case only
when the sender is already a contact on it. A stranger naming it gets a case of their own,
linked for officers (`Case.names_case_id`), and is told nothing about the other case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models import Advocacy, AuditEvent, Case, ChannelIdentity, Contact, Message, OutboxItem
from models.enums import (
    AdvocacyAnswer, CaseStatus, Channel, Kind, Reason, Role, SafeguardingLevel, TriageState,
)
from scheduler.clock import Clock
from triage.opening import Opening, open_cases, reserve_references

REFERENCE = re.compile(r"\bCSC-(\d{4})-(\d{5})\b", re.IGNORECASE)
UNHAPPY = re.compile(
    r"\b(not (happy|satisfied|resolved)|unhappy|dissatisfied|disagree|still not|stage (2|two|3|three)|"
    r"escalate|take (this|it) further|appeal|not good enough|not accept|don'?t accept)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Suggestion:
    """What the classifier suggested; empty (all None) when no classifier is loaded."""

    kind: Kind | None = None
    confidence: float | None = None
    reasons: list[Reason] = field(default_factory=list)
    primary_reason: Reason | None = None
    role: Role | None = None
    safeguarding_level: SafeguardingLevel | None = None
    signals: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    needs_review: bool = True
    detail: dict = field(default_factory=dict)

    @property
    def safeguarding(self) -> bool:
        """Flagged at either level."""
        return self.safeguarding_level is not None

    @property
    def disclosure(self) -> bool:
        """Explicit words of current harm: the only level that speaks to the person."""
        return self.safeguarding_level is SafeguardingLevel.disclosure


Classify = Callable[[str], Suggestion]


@dataclass(frozen=True)
class Outcome:
    case: Case
    opened: bool
    possible_escalation: bool = False


@dataclass(frozen=True)
class Threading:
    """Where a message belongs (`case`, or None for a new case), and a case it names whose
    contacts do not include the sender (`names`), for officers to judge."""

    case: Case | None = None
    names: Case | None = None


def find_references(texts: Iterable[str]) -> list[str]:
    """Every reference named, in order, once each (subject first, as adapters pass it)."""
    found: list[str] = []
    for text in texts:
        for match in REFERENCE.finditer(text or ""):
            reference = f"CSC-{match.group(1)}-{match.group(2)}"
            if reference not in found:
                found.append(reference)
    return found


def next_reference(session: Session, year: int) -> str:
    """Reserve the next reference of the year (safe under concurrency)."""
    return f"CSC-{year}-{reserve_references(session, year, 1):05d}"


def contact_for(session: Session, channel: Channel, address: str, name: str = "") -> Contact:
    identity = session.exec(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
    ).first()
    if identity:
        return session.get_one(Contact, identity.contact_id)
    contact = Contact(display_name=name[:200])
    session.add(contact)
    session.flush()
    session.add(ChannelIdentity(contact_id=contact.id, channel=channel, address=address))
    return contact


def sender_contact_id(session: Session, channel: Channel, address: str) -> int | None:
    """The contact behind a channel address, as `contact_for` resolves it, without making one."""
    return session.exec(
        select(ChannelIdentity.contact_id).where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
    ).first()


def is_contact_on(session: Session, case: Case, contact_id: int | None) -> bool:
    """The person is the case's contact, or sent or was sent a message on it (a parent and the
    young person both writing; a sender whose case an officer merged into this one)."""
    if contact_id is None:
        return False
    if case.contact_id == contact_id:
        return True
    return session.exec(
        select(Message.id).where(Message.case_id == case.id, Message.contact_id == contact_id).limit(1)
    ).first() is not None


def thread(session: Session, message: Message, message_ids: list[str]) -> Threading:
    """The case this message belongs to.

    1. A reference it names, when the sender is a contact on that case. References are
       sequential, so naming one proves nothing about who is writing.
    2. Otherwise a message it replies to (In-Reply-To/References): those ids are not guessable,
       so having one means a message on the case reached the sender (a partner copied in, a
       second address), and it joins the case whoever sends it.
    A named case the sender is not a contact on comes back as `names`.
    """
    contact_id = sender_contact_id(session, message.channel, message.sender)
    names: Case | None = None
    for reference in find_references([message.subject, message.clean_text]):
        named = _live(session, session.exec(select(Case).where(Case.reference == reference)).first())
        if named is None:
            continue
        if is_contact_on(session, named, contact_id):
            return Threading(named)
        names = names or named
    case = _by_message_ids(session, message_ids)
    return Threading(case, names if names is not None and names is not case else None)


def _by_message_ids(session: Session, message_ids: list[str]) -> Case | None:
    ids = [i for i in message_ids if i]
    if not ids:
        return None
    case_id = session.exec(
        select(Message.case_id).where(Message.external_id.in_(ids), Message.case_id.is_not(None))
    ).first() or session.exec(
        select(OutboxItem.case_id).where(OutboxItem.provider_message_id.in_(ids), OutboxItem.case_id.is_not(None))
    ).first()
    return _live(session, session.get(Case, case_id)) if case_id else None


def _live(session: Session, case: Case | None) -> Case | None:
    """Follow merges to the case that carries on."""
    while case is not None and case.merged_into_id:
        case = session.get(Case, case.merged_into_id)
    return case


def take_in(
    session: Session,
    message: Message,
    *,
    clock: Clock,
    zone: ZoneInfo,
    now: datetime,
    classify: Classify | None = None,
    message_ids: list[str] | None = None,
    acknowledge_to: str | None = None,
    acknowledge_suppressed: str = "",
    offer_advocate: bool = True,
    contact: Contact | None = None,
    acknowledge_on: Channel | None = None,
) -> Outcome:
    """Thread or open a case for a stored message.

    Every read and the classification come before the first write, so the write
    transaction (SQLite's single writer) is as short as it can be. A representation an
    officer logs comes with its `contact` already found, and is acknowledged (and offered an
    advocate) on `acknowledge_on`, email, rather than on the phone line or letter it came by.
    """
    threading = thread(session, message, message_ids or [])
    existing, names = threading.case, threading.names
    suggestion = classify(message.clean_text) if classify and existing is None else Suggestion()
    contact = contact or contact_for(session, message.channel, message.sender)
    message.contact_id = contact.id
    if existing is not None:
        return _attach(session, message, existing, now, names=names)

    opening = Opening(message, suggestion, contact.id, names, acknowledge_to, acknowledge_suppressed, offer_advocate, acknowledge_on)
    [case_id] = open_cases(session, [opening], clock=clock, zone=zone, now=now)
    return Outcome(session.get_one(Case, case_id), opened=True)


WANTS_ADVOCATE = re.compile(r"\badvocate\b", re.IGNORECASE)
REFUSES_ADVOCATE = re.compile(r"\b(no|not|don'?t|do not|never)\b[^.!?\n]{0,30}\badvocate\b", re.IGNORECASE)


def _advocate_answer(session: Session, message: Message, case: Case, now: datetime) -> None:
    """An emailed "advocate" (as the acknowledgement asks) answers an open offer: yes, or no when refused."""
    if not WANTS_ADVOCATE.search(message.clean_text):
        return
    offer = session.exec(select(Advocacy).where(Advocacy.case_id == case.id, Advocacy.answer.is_(None))).first()
    if offer is None:
        return
    offer.answer = AdvocacyAnswer.no if REFUSES_ADVOCATE.search(message.clean_text) else AdvocacyAnswer.yes
    offer.answered_at = now
    session.add(AuditEvent(at=now, actor=f"intake:{message.channel.value}", case_id=case.id, action="advocacy_answer",
                           detail={"answer": offer.answer.value, "message_id": message.id}))


def _names_another(session: Session, message: Message, case: Case, names: Case, now: datetime) -> None:
    """Officers only: the message names a case its sender is not a contact on."""
    session.add(AuditEvent(at=now, actor=f"intake:{message.channel.value}", case_id=case.id, action="names_another_case",
                           detail={"message_id": message.id, "reference": names.reference,
                                   "why": "the sender is not a contact on that case"}))


def attach(session: Session, message: Message, case: Case, now: datetime) -> Outcome:
    """Put a stored message on a known case, as a reply threaded onto it would be (an adapter
    that already knows the case, e.g. a resend with a reused Message-ID)."""
    contact = contact_for(session, message.channel, message.sender)
    message.contact_id = contact.id
    return _attach(session, message, _live(session, case) or case, now)


def _attach(session: Session, message: Message, case: Case, now: datetime, *, names: Case | None = None) -> Outcome:
    message.case_id = case.id
    if names is not None:  # it replies on its own case and names another: joins its own, officers told
        _names_another(session, message, case, names, now)
    _advocate_answer(session, message, case, now)
    escalation = case.status is CaseStatus.responded and bool(UNHAPPY.search(message.clean_text))
    if escalation:
        message.possible_escalation = True
        case.possible_escalation = True
        case.triage_state = TriageState.needs_review
    session.add(AuditEvent(at=now, actor=f"intake:{message.channel.value}", case_id=case.id, action="threaded",
                           detail={"message_id": message.id, "possible_escalation": escalation}))
    return Outcome(case, opened=False, possible_escalation=escalation)
