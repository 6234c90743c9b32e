"""Legal holds, and the mechanics of deleting personal data while keeping the statistics.

What the annual report counts stays on the case row and its stages, deadlines and advocacy
answer (kind, reasons, role, team, dates, outcomes, compensation, ethnicity, the learning
officers write for publication). Everything else about a person goes: the messages (text and
original bytes), attachments, outbox items, training labels taken from their words, free-text
notes, and the contact with their channel identities and chat state once nothing else needs
them. The search index follows the messages (migration 0008's triggers; ON DELETE CASCADE on
PostgreSQL). When to delete is the schedule's business (`scheduler/retention.py`), not this
module's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from models.audit_chain import erase_details
from models.audit import ConversationState, TrainingLabel
from models.cases import Advocacy, Case, Deadline, StageRecord
from models.columns import utc_field, utcnow
from models.messages import Attachment, Message
from models.outbox import OutboxItem
from models.people import ChannelIdentity, Contact


class LegalHold(SQLModel, table=True):
    """A hold on deleting a case (court proceedings, an Ombudsman investigation, a subject access
    request in progress): set and lifted by a manager, each with a reason. A case with a hold
    not yet lifted is never deleted. Kept after lifting, as the history of why."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    reason: str = Field(sa_type=sa.Text)
    set_by: str = Field(max_length=120)
    set_at: datetime = utc_field(default_factory=utcnow, nullable=False)
    lifted_by: str = Field(default="", max_length=120)
    lifted_at: datetime | None = utc_field()
    lift_reason: str = Field(default="", sa_type=sa.Text)


def held_case_ids() -> sa.Select:  # type: ignore[type-arg]
    """The cases with a hold in force, as a subquery."""
    return sa.select(LegalHold.case_id).where(LegalHold.lifted_at.is_(None))  # type: ignore[union-attr]


def hold_on(session: Session, case_id: int) -> LegalHold | None:
    return session.exec(select(LegalHold).where(LegalHold.case_id == case_id, LegalHold.lifted_at.is_(None))  # type: ignore[union-attr]
                        .order_by(LegalHold.id)).first()


@dataclass
class Erased:
    """What went, counted (the audit keeps these numbers and the rule, never the content)."""

    messages: int = 0
    attachments: int = 0
    outbox: int = 0
    contacts: int = 0
    contact_ids: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {"messages": self.messages, "attachments": self.attachments, "outbox": self.outbox, "contacts": self.contacts}


def _ids(session: Session, query: sa.Select) -> list[int]:  # type: ignore[type-arg]
    return [row[0] for row in session.execute(query)]


def erase_messages(session: Session, message_ids: list[int], outbox_ids: list[int], erased: Erased) -> None:
    """Delete messages and outbox items with their attachments (and so their search rows)."""
    if not message_ids and not outbox_ids:
        return
    m, o = Message.__table__, OutboxItem.__table__  # type: ignore[attr-defined]
    a, adv = Attachment.__table__, Advocacy.__table__  # type: ignore[attr-defined]
    erased.contact_ids.update(_ids(session, sa.select(m.c.contact_id).where(m.c.id.in_(message_ids), m.c.contact_id.is_not(None))))
    erased.contact_ids.update(_ids(session, sa.select(o.c.contact_id).where(o.c.id.in_(outbox_ids), o.c.contact_id.is_not(None))))
    erased.attachments += session.execute(
        sa.delete(a).where(sa.or_(a.c.message_id.in_(message_ids), a.c.outbox_id.in_(outbox_ids)))).rowcount
    session.execute(sa.update(adv).where(adv.c.referral_outbox_id.in_(outbox_ids)).values(referral_outbox_id=None))
    erased.outbox += session.execute(sa.delete(o).where(o.c.id.in_(outbox_ids))).rowcount
    erased.messages += session.execute(sa.delete(m).where(m.c.id.in_(message_ids))).rowcount


def erase_case(session: Session, case: Case, rule: str, now: datetime) -> Erased:
    """Delete a case's personal data (and that of the cases merged into it), keeping the
    statistical record. Callers check holds and open cases first."""
    c = Case.__table__  # type: ignore[attr-defined]
    ids = [case.id, *_ids(session, sa.select(c.c.id).where(c.c.merged_into_id == case.id))]
    erased = Erased()
    erased.contact_ids.update(_ids(session, sa.select(c.c.contact_id).where(c.c.id.in_(ids), c.c.contact_id.is_not(None))))
    adv = Advocacy.__table__  # type: ignore[attr-defined]
    erased.contact_ids.update(_ids(session, sa.select(adv.c.contact_id).where(adv.c.case_id.in_(ids), adv.c.contact_id.is_not(None))))
    erase_messages(session, _ids(session, sa.select(Message.id).where(Message.case_id.in_(ids))),  # type: ignore[union-attr,arg-type]
                   _ids(session, sa.select(OutboxItem.id).where(OutboxItem.case_id.in_(ids))), erased)  # type: ignore[union-attr,arg-type]
    session.execute(sa.update(adv).where(adv.c.case_id.in_(ids)).values(contact_id=None, help_wanted="", safe_contact=""))
    session.execute(sa.delete(TrainingLabel.__table__).where(TrainingLabel.case_id.in_(ids)))  # type: ignore[attr-defined,union-attr]
    session.execute(sa.update(StageRecord.__table__).where(StageRecord.case_id.in_(ids)).values(note=""))  # type: ignore[attr-defined]
    session.execute(sa.update(Deadline.__table__).where(Deadline.case_id.in_(ids)).values(extension_reason=""))  # type: ignore[attr-defined]
    session.execute(sa.update(c).where(c.c.id.in_(ids)).values(
        contact_id=None, summary="", triage_detail={}, adr_note="", erased_at=now, erased_rule=rule))
    erase_details(session, ids, rule)  # a note's words, an extension's reason: the facts stay, chained
    session.expire_all()
    erased.contacts = forget_contacts(session, erased.contact_ids)
    return erased


def forget_contacts(session: Session, contact_ids: Iterable[int]) -> int:
    """Delete each contact nothing refers to any more, with their channel identities and chat
    state; a contact still on another case or message stays. Returns how many went."""
    gone = 0
    for contact_id in sorted(set(contact_ids)):
        if still_needed(session, contact_id):
            continue
        forget_identities(session, contact_id)
        session.execute(sa.delete(Contact.__table__).where(Contact.__table__.c.id == contact_id))  # type: ignore[attr-defined]
        gone += 1
    return gone


def still_needed(session: Session, contact_id: int) -> bool:
    for model in (Case, Message, OutboxItem, Advocacy):
        if session.execute(sa.select(model.id).where(model.contact_id == contact_id).limit(1)).first():  # type: ignore[attr-defined]
            return True
    return False


def forget_identities(session: Session, contact_id: int) -> None:
    """A contact's channel identities and the chat state kept under them (`<channel>:<address>`,
    Telegram's `telegram:<chat>:<user>`)."""
    states = ConversationState.__table__  # type: ignore[attr-defined]
    for identity in session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id)).all():
        key = f"{identity.channel.value}:{identity.address}"
        session.execute(sa.delete(states).where(sa.or_(states.c.key == key, states.c.key.startswith(f"{key}:", autoescape=True))))
    session.execute(sa.delete(ChannelIdentity.__table__).where(ChannelIdentity.__table__.c.contact_id == contact_id))  # type: ignore[attr-defined]
