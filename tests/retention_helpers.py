"""A case with everything a person leaves in Heard, closed on a given day, for the retention tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import (Advocacy, Attachment, Case, ChannelIdentity, Contact, ConversationState, LegalHold, Message, OutboxItem,
                    StageRecord, TrainingLabel, session_scope)
from models.enums import AdvocacyAnswer, CaseStatus, Channel, Direction, Kind, MessageState, Outcome, Role, Stage
from scheduler import Clock, load_policy
from tests.factories import at, open_case

CLOCK = Clock(load_policy())
SECRET = "Marnie-Oakhurst"  # words only a person's data holds: never left anywhere after deletion


def lived_case(engine: Engine, received: date, closed: date | None, *, kind: Kind = Kind.complaint, contact_id: int | None = None,
               held: bool = False, read_on: date | None = None) -> int:
    """A case as intake and officers leave it: an email (original bytes, an attachment), a reply
    in the outbox (with a file), an advocate's referral details, a training label, a stage
    response with a note; closed on `closed` (None: still open)."""
    case_id = open_case(engine, CLOCK, received, kind=kind, role=Role.child_or_young_person, address=None)
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        if contact_id is not None:  # the same person again: the factory's new contact is not wanted
            unwanted, case.contact_id = case.contact_id, contact_id
            session.flush()
            session.execute(sa.delete(ChannelIdentity).where(ChannelIdentity.contact_id == unwanted))
            session.execute(sa.delete(Contact).where(Contact.id == unwanted))
        who = case.contact_id
        address = session.execute(sa.select(ChannelIdentity.address).where(ChannelIdentity.contact_id == who)).scalars().first()
        session.merge(ConversationState(key=f"email:{address}", data={"story": SECRET}))
        case.summary, case.adr_note, case.triage_detail = f"{SECRET} says", f"{SECRET} met", {"words": SECRET}
        case.reasons, case.child_ethnicity, case.learning = ["communication"], "White British", "Calls returned within two days."
        message = Message(dedupe_key=f"email:{case_id}", channel=Channel.email, direction=Direction.inbound, state=MessageState.processed,
                          case_id=case_id, contact_id=who, raw_bytes=f"From: {SECRET}\r\n\r\nhelp".encode(), sender=f"{address}",
                          subject=f"From {SECRET}", text=f"I am {SECRET}", received_at=at(received),
                          processed_at=at(read_on or received))
        session.add(message)
        item = OutboxItem(idempotency_key=f"reply:{case_id}", purpose="reply", channel=Channel.email, recipient=address or "",
                          case_id=case_id, contact_id=who, body=f"Dear {SECRET}")
        session.add(item)
        session.flush()
        session.add(Attachment(message_id=message.id, filename=f"{SECRET}.pdf", content=b"%PDF", size=4))
        session.add(Attachment(outbox_id=item.id, filename="letter.pdf", content=b"%PDF", size=4))
        session.add(Advocacy(case_id=case_id, contact_id=who, offered_on_channel=Channel.email, answer=AdvocacyAnswer.yes,
                             help_wanted=f"{SECRET} wants help", safe_contact=f"{SECRET}'s aunt", referral_outbox_id=item.id,
                             offered_at=at(received)))
        session.add(TrainingLabel(case_id=case_id, text=f"I am {SECRET}", field="kind", predicted="complaint", corrected="complaint"))
        if closed is not None:
            session.add(StageRecord(case_id=case_id, stage=Stage.stage_1 if kind is not Kind.compliment else Stage.initial_feedback,
                                    started_on=received, responded_on=closed, outcome=Outcome.upheld, note=f"{SECRET} was right"))
            case.status, case.closed_at = CaseStatus.closed, at(closed, 16)
        if held:
            session.add(LegalHold(case_id=case_id, reason="Ombudsman investigating", set_by="Mo"))
    return case_id


def not_a_case(engine: Engine, received: datetime, *, state: MessageState = MessageState.ignored) -> int:
    """An auto-reply (ignored) or a message that failed to be read, that never became a case."""
    with session_scope(engine) as session:
        contact = Contact(display_name=SECRET)
        session.add(contact)
        session.flush()
        session.add(ChannelIdentity(contact_id=contact.id, channel=Channel.email, address=f"away{contact.id}@example.org"))
        message = Message(dedupe_key=f"auto:{contact.id}", channel=Channel.email, direction=Direction.inbound, state=state,
                          contact_id=contact.id, raw_bytes=b"Auto-Submitted: auto-replied", text=f"{SECRET} is away",
                          received_at=received, processed_at=received, error="automatic: an auto-reply")
        session.add(message)
        session.flush()
        return message.id  # type: ignore[return-value]


def utc(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
