"""A person's rights to correction and erasure (UK GDPR articles 16 and 17), asked of a manager.

Erasure deletes what Heard may delete now and says plainly what it cannot, and why:
1. a case still open (it can be erased once it closes);
2. a case on legal hold (the hold's reason);
3. the anonymous statistical record of every case, which the annual report counts and the
   regulations require (it holds nothing that identifies the person).
A closed case goes whole, as retention deletes it (`models.retention.erase_case`); messages
of theirs that never became a case go too, and their contact details once nothing needs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, or_, select

from models import Advocacy, Case, ChannelIdentity, Contact, Message, OutboxItem
from models.enums import CaseStatus, Channel
from models.retention import Erased, erase_case, erase_messages, forget_contacts, hold_on
from desk.casework import Actor, Refused, audit

RULE = "erasure_request"
STATISTICS = ("The anonymous statistical record of each case stays: its kind, dates, stages, outcomes and reasons, "
              "with nothing that identifies the person. The council must count every representation in its annual report "
              "(Children Act 1989 representations regulations, regulation 13).")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE = re.compile(r"\+?[0-9 ()-]{6,20}")


@dataclass
class ErasurePlan:
    contact: Contact
    erasable: list[Case] = field(default_factory=list)
    kept: list[tuple[Case, str]] = field(default_factory=list)  # (case, why it cannot be erased)
    done: list[Case] = field(default_factory=list)  # erased before


def find_person(session: Session, address: str) -> Contact | None:
    """The contact reached at an email address, phone number or Telegram chat."""
    address = address.strip()
    if not address:
        return None
    identity = session.exec(select(ChannelIdentity).where(
        sa.func.lower(ChannelIdentity.address) == address.lower(), ChannelIdentity.channel != Channel.webchat)).first()
    return session.get(Contact, identity.contact_id) if identity else None


def their_cases(session: Session, contact_id: int) -> list[Case]:
    """Cases they opened, wrote on, or were offered an advocate on; a merged case as the case it joined."""
    wrote_on = select(Message.case_id).where(Message.contact_id == contact_id, Message.case_id.is_not(None))  # type: ignore[union-attr]
    advocated = select(Advocacy.case_id).where(Advocacy.contact_id == contact_id)
    found: dict[int, Case] = {}
    for case in session.exec(select(Case).where(or_(Case.contact_id == contact_id, Case.id.in_(wrote_on), Case.id.in_(advocated)))):  # type: ignore[union-attr]
        while case.merged_into_id and (into := session.get(Case, case.merged_into_id)) is not None:
            case = into
        found[case.id] = case  # type: ignore[index]
    return sorted(found.values(), key=lambda c: (c.received_at, c.id))


def plan(session: Session, contact: Contact) -> ErasurePlan:
    result = ErasurePlan(contact)
    for case in their_cases(session, contact.id):  # type: ignore[arg-type]
        if case.erased_at is not None:
            result.done.append(case)
        elif (hold := hold_on(session, case.id)) is not None:  # type: ignore[arg-type]
            result.kept.append((case, f"it is on legal hold: {hold.reason}"))
        elif case.status is not CaseStatus.closed:
            result.kept.append((case, "it is still open; it can be erased once it closes"))
        else:
            result.erasable.append(case)
    return result


def erase(session: Session, erasure: ErasurePlan, actor: Actor, reason: str) -> tuple[int, bool]:
    """Erase what the plan allows. Returns (cases erased, whether the contact details went)."""
    contact_id = erasure.contact.id
    for case in erasure.erasable:
        erased = erase_case(session, case, RULE, actor.now)
        audit(session, actor, case, "erased_on_request", rule=RULE, reason=reason, **erased.counts())
    loose = Erased()
    erase_messages(session,
                   list(session.exec(select(Message.id).where(Message.contact_id == contact_id, Message.case_id.is_(None)))),  # type: ignore[union-attr,arg-type]
                   list(session.exec(select(OutboxItem.id).where(OutboxItem.contact_id == contact_id, OutboxItem.case_id.is_(None)))),  # type: ignore[union-attr,arg-type]
                   loose)
    gone = forget_contacts(session, [contact_id]) == 1  # type: ignore[list-item]
    audit(session, actor, None, "erasure_request", rule=RULE, reason=reason, cases_erased=len(erasure.erasable),
          cases_kept=[c.reference for c, _ in erasure.kept], loose_messages=loose.messages, contact_erased=gone)
    return len(erasure.erasable), gone


def checked_address(channel: Channel, raw: str) -> str:
    """A corrected address, in the form its channel needs."""
    address = raw.strip()
    if len(address) > 320:
        raise Refused("the address is longer than 320 characters")
    if channel is Channel.email and not EMAIL.fullmatch(address):
        raise Refused(f"{address[:40]!r} is not an email address")
    if channel is Channel.telegram and not address.lstrip("-").isdigit():
        raise Refused("a Telegram chat is a number")
    if channel is Channel.phone and not PHONE.fullmatch(address):
        raise Refused(f"{address[:40]!r} is not a phone number")
    if channel is Channel.webchat:
        raise Refused("a web chat session cannot be corrected")
    if not address:
        raise Refused("the address is empty")
    return address


def correct(session: Session, contact: Contact, actor: Actor, reason: str, *, display_name: str | None,
            identity_id: int | None, address: str) -> list[str]:
    """Rectification: a name or an address put right. The audit names what changed, not the values."""
    changed = []
    if display_name is not None and display_name != contact.display_name:
        contact.display_name, changed = display_name, [*changed, "name"]
    if identity_id is not None and address.strip():
        identity = session.get(ChannelIdentity, identity_id)
        if identity is None or identity.contact_id != contact.id:
            raise Refused("that address is not one of this person's (changed by someone else?)")
        new = checked_address(identity.channel, address)
        if new != identity.address:
            taken = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == identity.channel,
                                                               ChannelIdentity.address == new)).first()
            if taken is not None:
                raise Refused(f"{new} is already another person's {identity.channel.value} address")
            identity.address, changed = new, [*changed, f"{identity.channel.value} address"]
    if not changed:
        raise Refused("nothing was changed")
    audit(session, actor, None, "contact_corrected", contact_id=contact.id, changed=changed, reason=reason)
    return changed
