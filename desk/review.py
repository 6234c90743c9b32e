"""Confirming or correcting the classifier's suggestion, and replying to a complainant.

The classifier suggests, people decide: every field an officer changes becomes a
`TrainingLabel` (what was predicted, what is right, on which text), so the next model
learns from the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Case, ChannelIdentity, Deadline, Message, OutboxItem, TrainingLabel
from models.enums import (
    DeadlineKind, DeadlineStatus, Direction, Kind, OutboxStatus, Reason, Role, SafeguardingLevel, Stage, TriageState,
)
from scheduler.clock import Clock
from desk.casework import LIVE, Actor, Refused, audit, first_stage, live_case, sync_deadlines


@dataclass(frozen=True)
class Verdict:
    """What the officer says the case is."""

    kind: Kind | None
    reasons: list[Reason]
    primary_reason: Reason | None
    role: Role | None
    safeguarding: SafeguardingLevel | None  # the officer's level: disclosure, possible, or no concern


def safeguarding_level(value: object) -> SafeguardingLevel | None:
    """A form's or the API's safeguarding answer: a level name, or a yes/no ("1", true) that means
    `disclosure` (an officer who ticks "safeguarding" is saying it is a concern) or none."""
    if isinstance(value, SafeguardingLevel) or value is None:
        return value
    text = str(value).strip().lower()
    if text in ("", "0", "false", "none", "no"):
        return None
    if text in ("1", "true", "yes", "on"):
        return SafeguardingLevel.disclosure
    return SafeguardingLevel(text)  # ValueError names anything else


def case_text(session: Session, case: Case) -> str:
    """The words the classifier read: the first inbound message's clean text, else the summary."""
    first = session.exec(
        select(Message.clean_text).where(Message.case_id == case.id, Message.direction == Direction.inbound)
        .order_by(Message.received_at, Message.id)
    ).first()
    return first or case.summary


def confirm_triage(session: Session, case: Case, clock: Clock, actor: Actor, verdict: Verdict) -> list[str]:
    """Record the officer's verdict; return the names of the fields they corrected."""
    live_case(case)
    reasons = list(dict.fromkeys(Reason(r) for r in verdict.reasons))
    if verdict.primary_reason and verdict.primary_reason not in reasons:
        reasons.insert(0, verdict.primary_reason)
    primary = verdict.primary_reason or (reasons[0] if reasons else None)
    if verdict.kind is Kind.compliment and reasons:
        raise Refused("a compliment has no complaint reasons; untick them or choose another kind")
    suggested = {
        "kind": case.kind.value if case.kind else None,
        "reasons": sorted(str(r) for r in case.reasons),
        "primary_reason": case.primary_reason.value if case.primary_reason else None,
        "role": case.complainant_role.value if case.complainant_role else None,
        "safeguarding": case.safeguarding_level.value if case.safeguarding_level else None,
    }
    decided = {
        "kind": verdict.kind.value if verdict.kind else None,
        "reasons": sorted(r.value for r in reasons),
        "primary_reason": primary.value if primary else None,
        "role": verdict.role.value if verdict.role else None,
        "safeguarding": verdict.safeguarding.value if verdict.safeguarding else None,
    }
    corrected = [name for name in suggested if suggested[name] != decided[name]]
    text = case_text(session, case)
    for name in corrected:
        session.add(TrainingLabel(case_id=case.id, text=text, field=name, predicted=suggested[name],
                                  corrected=decided[name], officer_id=actor.officer.id, created_at=actor.now))
    kind_changed = case.kind is not verdict.kind
    case.kind, case.reasons, case.primary_reason = verdict.kind, reasons, primary
    case.complainant_role = verdict.role
    case.set_safeguarding(verdict.safeguarding)
    case.triage_state, case.triage_confirmed_by_id, case.triage_confirmed_at = TriageState.confirmed, actor.officer.id, actor.now
    case.possible_escalation = False
    changes: list[str] = []
    if kind_changed and case.stage in (None, Stage.initial_feedback, Stage.stage_1):
        case.stage = first_stage(verdict.kind)
        changes = sync_deadlines(session, case, clock, actor)
    audit(session, actor, case, "triage_confirmed" if not corrected else "triage_corrected",
          suggested=suggested, decided=decided, corrected=corrected, deadlines=changes)
    return corrected


def reply(session: Session, case: Case, actor: Actor, *, body: str, once: str, draft: bool = False) -> OutboxItem:
    """Queue the officer's words on the case's own channel, to the contact's address there.

    `once` comes from the form, so a double-submitted form collides on the idempotency key
    instead of sending twice. A `draft` is written as it will be sent but waits for the officer
    to read it and `send_draft` it.
    """
    body = body.strip()
    if not body:
        raise Refused("the reply is empty")
    if not once or len(once) > 64:
        raise Refused("reload the page and try again")
    key = f"reply:{case.id}:{once}"
    existing = session.exec(select(OutboxItem).where(OutboxItem.idempotency_key == key)).first()
    if existing:
        return existing
    channel = case.channel.written_on  # a phone call or a letter is answered by email, when there is an address
    identity = session.exec(
        select(ChannelIdentity).where(ChannelIdentity.contact_id == case.contact_id, ChannelIdentity.channel == channel)
    ).first() if case.contact_id else None
    if identity is None:
        raise Refused(f"there is no {channel.value} address for this complainant to reply to"
                      + (": reply by post or phone" if case.channel.logged else ""))
    subject = session.exec(
        select(Message.subject).where(Message.case_id == case.id, Message.direction == Direction.inbound)
        .order_by(Message.received_at, Message.id)
    ).first() or ""
    subject = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
    if case.reference not in subject:
        subject = f"{subject} [{case.reference}]"
    item = OutboxItem(idempotency_key=key, purpose="reply", channel=channel, recipient=identity.address,
                      case_id=case.id, contact_id=case.contact_id, subject=subject, body=body,
                      status=OutboxStatus.draft if draft else OutboxStatus.pending, next_attempt_at=actor.now, created_at=actor.now)
    session.add(item)
    session.flush()
    if not draft:
        _replied(session, case, actor, item)
    return item


def send_draft(session: Session, case: Case, actor: Actor, item: OutboxItem) -> bool:
    """Send a previewed reply: draft → pending in one conditional UPDATE, so a double click sends
    it once. False when it had already been sent (nothing more to do)."""
    moved = session.execute(sa.update(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.status == OutboxStatus.draft)
                            .values(status=OutboxStatus.pending, next_attempt_at=actor.now)
                            .execution_options(synchronize_session=False))
    session.refresh(item)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    _replied(session, case, actor, item)
    return True


def _replied(session: Session, case: Case, actor: Actor, item: OutboxItem) -> None:
    # A reply from a person acknowledges the representation, if nothing else has yet.
    for row in session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == DeadlineKind.acknowledgement)):
        if row.status in LIVE:
            row.status, row.met_on = DeadlineStatus.met, actor.today
    audit(session, actor, case, "replied", outbox_id=item.id, channel=item.channel.value, chars=len(item.body))
