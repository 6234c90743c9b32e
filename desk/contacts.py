"""The contact panel on a case page: who the person is, how they reach us, and their other
cases — so an officer sees at once that this is the third complaint from the same parent, or
that the young person also wrote by email."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, or_, select

from models import Case, ChannelIdentity, Contact, Message
from models.enums import Channel

MAX_OTHER_CASES = 20


@dataclass
class ContactPanel:
    contact: Contact | None
    channels: list[tuple[Channel, str]] = field(default_factory=list)  # (channel, what to show)
    other_cases: list[Case] = field(default_factory=list)
    more: bool = False  # more other cases than shown


def shown_address(identity: ChannelIdentity) -> str:
    """An email address or Telegram chat as it is; a web chat's address is only a hash of its cookie."""
    return "a web chat session" if identity.channel is Channel.webchat else identity.address


def contact_panel(session: Session, case: Case) -> ContactPanel:
    """The person's channels and their other cases: cases they opened, and cases they wrote on."""
    if case.contact_id is None:
        return ContactPanel(None)
    contact = session.get(Contact, case.contact_id)
    identities = session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id == case.contact_id)
                              .order_by(ChannelIdentity.channel, ChannelIdentity.id))
    wrote_on = select(Message.case_id).where(Message.contact_id == case.contact_id, Message.case_id.is_not(None))
    others = list(session.exec(
        select(Case).where(or_(Case.contact_id == case.contact_id, Case.id.in_(wrote_on)), Case.id != case.id)
        .order_by(Case.received_at.desc(), Case.id.desc()).limit(MAX_OTHER_CASES + 1)))
    return ContactPanel(contact, [(i.channel, shown_address(i)) for i in identities], others[:MAX_OTHER_CASES],
                        len(others) > MAX_OTHER_CASES)
