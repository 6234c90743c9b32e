"""What the conversation does to the case record: open a case from a told story, set what the
person says it is and who they are (moving the deadlines to match), record their answer to
the advocate offer, flag a safeguarding disclosure, and read where a case is for /status.

Only the person's own words change `kind` and `complainant_role` here; the case stays
`needs_review`, so an officer still confirms the triage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models import Advocacy, AuditEvent, Case, ChannelIdentity, Contact, Deadline, Message
from models.enums import (
    AdvocacyAnswer, CaseStatus, Channel, DeadlineKind, DeadlineStatus, Kind, Role, Stage, TriageState,
)
from scheduler.clock import CaseEvents, Clock
from triage.intake import Outcome, Suggestion, take_in

YOUNG = {Role.child_or_young_person, Role.care_leaver}
REPLY_KINDS = (DeadlineKind.initial_feedback, DeadlineKind.stage_1, DeadlineKind.stage_2, DeadlineKind.stage_3_panel,
               DeadlineKind.stage_3_report, DeadlineKind.stage_3_response)
ASK_AGAIN_KINDS = (DeadlineKind.stage_2_request, DeadlineKind.stage_3_request)


def open_case(session: Session, messages: Sequence[Message], story: str, suggestion: Suggestion, *,
              clock: Clock, zone: ZoneInfo, now: datetime) -> Outcome:
    """The told story becomes a case (or joins the one whose reference it names, if this chat's
    person is a contact on it; a stranger naming one gets a case of their own, and its reference).

    The story may be several messages: the first goes through intake with the whole story's
    classification; the rest are attached to the same case.
    """
    first, rest = messages[0], messages[1:]
    # The chat records an advocate offer when it shows one (offer_advocate), not before.
    outcome = take_in(session, first, clock=clock, zone=zone, now=now, classify=lambda _text: suggestion,
                      offer_advocate=False)
    case = outcome.case
    if outcome.opened:
        case.summary = story[:500]
        if suggestion.safeguarding:
            flag_safeguarding(session, case, suggestion, now, first.channel, opening=True)
    for message in rest:
        message.case_id, message.contact_id = case.id, first.contact_id
    return outcome


def acknowledged(session: Session, case: Case, channel: Channel, now: datetime, zone: ZoneInfo) -> None:
    """The chat told them the reference and the date: that is the acknowledgement, given today."""
    for row in session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.status == DeadlineStatus.open,
                                                   Deadline.kind == DeadlineKind.acknowledgement)):
        row.status, row.met_on = DeadlineStatus.met, now.astimezone(zone).date()
    session.add(AuditEvent(at=now, actor=f"intake:{channel.value}", case_id=case.id, action="acknowledged",
                           detail={"channel": channel.value, "how": "reference and date given in the chat"}))


def flag_safeguarding(session: Session, case: Case, suggestion: Suggestion, now: datetime, channel: Channel, *,
                      opening: bool = False) -> None:
    """A flag at the suggestion's level: the case goes to the top of the queue and back to
    review. Only a `disclosure` is urgent; a flag is raised, never lowered, by what arrives."""
    new_signals = set(suggestion.signals) - set(case.safeguarding_signals)
    raised = case.flag_safeguarding(suggestion.safeguarding_level, suggestion.signals)
    case.triage_state = TriageState.needs_review
    if raised or new_signals or opening:
        session.add(AuditEvent(at=now, actor=f"intake:{channel.value}", case_id=case.id, action="safeguarding_flagged",
                               detail={"signals": sorted(suggestion.signals), "level": str(case.safeguarding_level),
                                       "urgent": case.disclosure}))


def thread_message(session: Session, message: Message, case: Case, *, clock: Clock, zone: ZoneInfo,
                   now: datetime) -> Case:
    """A later message in the same chat joins the case it is about (intake's own threading)."""
    anchor = session.exec(
        select(Message.external_id).where(Message.case_id == case.id, Message.external_id != "").limit(1)
    ).first()
    if anchor:
        return take_in(session, message, clock=clock, zone=zone, now=now, message_ids=[anchor]).case
    message.case_id, message.contact_id = case.id, case.contact_id
    session.add(AuditEvent(at=now, actor=f"intake:{message.channel.value}", case_id=case.id, action="threaded",
                           detail={"message_id": message.id}))
    return case


def first_stage(kind: Kind | None) -> Stage | None:
    if kind is Kind.compliment:
        return None
    return Stage.initial_feedback if kind is Kind.initial_feedback else Stage.stage_1


def set_kind(session: Session, case: Case, kind: Kind, *, clock: Clock, zone: ZoneInfo, now: datetime) -> None:
    """The person chose complaint, quick fix or thank-you: the stage and deadlines follow."""
    before = case.kind
    case.kind, case.stage = kind, first_stage(kind)
    received_on = case.received_at.astimezone(zone).date()
    wanted = {(d.kind, d.due_on): d for d in clock.deadlines(
        CaseEvents(received_on=received_on, procedure=case.procedure, kind=kind))}
    for row in session.exec(select(Deadline).where(Deadline.case_id == case.id,
                                                   Deadline.status != DeadlineStatus.superseded)):
        if wanted.pop((row.kind, row.due_on), None) is None and row.status == DeadlineStatus.open:
            row.status = DeadlineStatus.superseded
    for due in wanted.values():
        session.add(Deadline(case_id=case.id, kind=due.kind, due_on=due.due_on, explanation=due.explanation))
    if kind is Kind.compliment:  # no advocate for a thank-you: drop an offer nobody answered
        for offer in session.exec(select(Advocacy).where(Advocacy.case_id == case.id, Advocacy.answer.is_(None))):
            session.delete(offer)
    session.add(AuditEvent(at=now, actor=f"intake:{case.channel.value}", case_id=case.id, action="kind_chosen_by_complainant",
                           detail={"before": before.value if before else None, "chosen": kind.value}))
    session.flush()


def set_role(session: Session, case: Case, role: Role, now: datetime) -> None:
    case.complainant_role = role
    if case.contact_id and (contact := session.get(Contact, case.contact_id)) is not None:
        contact.role = role
    session.add(AuditEvent(at=now, actor=f"intake:{case.channel.value}", case_id=case.id, action="role_given_by_complainant",
                           detail={"role": role.value}))


def offer_advocate(session: Session, case: Case, channel: Channel, now: datetime) -> Advocacy:
    """The offer as made in the chat (intake may already have recorded it for a young person)."""
    offer = latest_offer(session, case)
    if offer is None:
        offer = Advocacy(case_id=case.id, contact_id=case.contact_id, offered_at=now, offered_on_channel=channel)
        session.add(offer)
    elif offer.answer is None:
        offer.offered_at, offer.offered_on_channel = now, channel
    return offer


def latest_offer(session: Session, case: Case) -> Advocacy | None:
    return session.exec(select(Advocacy).where(Advocacy.case_id == case.id).order_by(Advocacy.id.desc())).first()


def answer_advocate(session: Session, case: Case, answer: AdvocacyAnswer, channel: Channel, address: str,
                    now: datetime) -> Advocacy:
    """Record yes / no / "what's an advocate?". A yes, with consent, is what the referral is sent from."""
    offer = latest_offer(session, case) or offer_advocate(session, case, channel, now)
    offer.answer, offer.answered_at = answer, now
    if answer is AdvocacyAnswer.yes:
        offer.consent_to_share = True
        offer.safe_contact = f"{channel.value} chat {address} (the chat they used to contact us)"
        offer.help_wanted = offer.help_wanted or case.summary[:500]
    session.add(AuditEvent(at=now, actor=f"intake:{channel.value}", case_id=case.id, action="advocate_answer",
                           detail={"answer": answer.value}))
    return offer


def extend_for_advocate(session: Session, case: Case, clock: Clock, zone: ZoneInfo, now: datetime) -> date | None:
    """A yes to an advocate gives stage 1 its extended length now (the scheduler's own rule), so
    the person is told the new date once, in the same reply. None when nothing was extended."""
    from scheduler.advocacy import extend_stage_1_for_advocate

    session.flush()
    new_date = extend_stage_1_for_advocate(session.connection(), clock, zone, case_id=case.id, received_at=case.received_at,
                                           procedure=case.procedure.value, kind=case.kind.value if case.kind else None)
    if new_date is not None:  # the case's deadlines as the database now has them, in one read
        session.exec(select(Deadline).where(Deadline.case_id == case.id).execution_options(populate_existing=True)).all()
        session.add(AuditEvent(at=now, actor=f"intake:{case.channel.value}", case_id=case.id, action="deadline_extended",
                               detail={"reason": "advocate", "stage_1_due_on": new_date.isoformat()}))
    return new_date


def interpreter_needed(session: Session, case: Case, language: str, channel: Channel, now: datetime) -> None:
    """Officers see that the person wrote in another language; the clock runs as for anyone."""
    case.interpreter_needed = language
    session.add(AuditEvent(at=now, actor=f"intake:{channel.value}", case_id=case.id, action="interpreter_needed",
                           detail={"language": language}))


def reply_by(session: Session, case: Case) -> date | None:
    """The date the person will hear by: the earliest open reply deadline."""
    return session.exec(
        select(Deadline.due_on).where(Deadline.case_id == case.id, Deadline.status == DeadlineStatus.open,
                                      Deadline.kind.in_(REPLY_KINDS)).order_by(Deadline.due_on)
    ).first()


def ask_again_until(session: Session, case: Case) -> date | None:
    return session.exec(
        select(Deadline.due_on).where(Deadline.case_id == case.id, Deadline.status == DeadlineStatus.open,
                                      Deadline.kind.in_(ASK_AGAIN_KINDS)).order_by(Deadline.due_on)
    ).first()


def latest_case(session: Session, channel: Channel, address: str) -> Case | None:
    """The newest case this chat has opened (for /status after a restart or a new matter)."""
    contact_id = session.exec(
        select(ChannelIdentity.contact_id).where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
    ).first()
    if contact_id is None:
        return None
    case = session.exec(select(Case).where(Case.contact_id == contact_id).order_by(Case.id.desc())).first()
    while case is not None and case.merged_into_id:
        case = session.get(Case, case.merged_into_id)
    return case


def is_closed(case: Case) -> bool:
    return case.status in (CaseStatus.closed,)
