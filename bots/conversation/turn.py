"""The two steps every chat adapter takes, the same on every channel.

1. `store`: raw first. What arrived is committed as a `Message` (keyed so that a repeat
   delivery collides) before anything else; only then may the adapter say "received".
2. `turn`: in one transaction, load where the chat is, let the conversation act, save where
   it is now, and keep what Heard said as outbound messages on the case — then commit, and
   only then show the replies. A crash before the commit leaves the inbound message
   `stored`, and handling it again is safe.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bots.conversation import state as chat_state
from bots.conversation.dialogue import Reply
from bots.conversation.state import Chat
from models import Case, ChannelIdentity, Message
from models.enums import Channel, Direction, MessageState
from triage.intake import contact_for


log = logging.getLogger("heard.chat")
# Ids an adapter adds to each turn's log line while it handles something (Telegram: the update's id).
correlation: ContextVar[dict[str, Any]] = ContextVar("heard_chat_correlation", default={})

_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_REFERENCE = sa.select(Case.__table__.c.reference).where(Case.__table__.c.id == sa.bindparam("i"))  # type: ignore[attr-defined]
_IDENTITIES = ChannelIdentity.__table__  # type: ignore[attr-defined]
# Built once and reused: a chat turn is on the hot path, and SQLModel objects cost more than rows.
_FIND = sa.select(_MESSAGES.c.id, _MESSAGES.c.state).where(_MESSAGES.c.dedupe_key == sa.bindparam("k"))
_INSERT = sa.insert(_MESSAGES)
_CONTACT = sa.select(_IDENTITIES.c.contact_id).where(_IDENTITIES.c.channel == sa.bindparam("c"),
                                                     _IDENTITIES.c.address == sa.bindparam("a"))
_BLANK: dict[str, Any] = {"case_id": None, "raw_bytes": None, "in_reply_to": "", "references": "", "subject": "",
                          "error": "", "possible_escalation": False, "processed_at": None, "external_id": ""}
_HANDLED = (sa.update(_MESSAGES).where(_MESSAGES.c.id == sa.bindparam("i"), _MESSAGES.c.state == MessageState.stored.value)
            .values(state=MessageState.processed.value, processed_at=sa.bindparam("now")))


@dataclass(frozen=True)
class Stored:
    """A stored inbound message: its id, and whether it still needs handling (False for a repeat already handled)."""

    id: int
    fresh: bool


def store(engine: Engine, *, dedupe_key: str, channel: Channel, address: str, now: datetime, text: str = "",
          raw_json: dict[str, Any] | None = None, external_id: str = "", sender_name: str = "",
          headers: dict[str, Any] | None = None) -> Stored:
    """Commit what arrived. A repeat of something already handled comes back with `fresh=False`;
    a repeat of something stored but never handled (a crash) comes back fresh, to be handled now."""
    with Session(engine, expire_on_commit=False) as session:
        connection = session.connection()
        found = connection.execute(_FIND, {"k": dedupe_key}).first()
        if found is not None:
            return Stored(found[0], found[1] == MessageState.stored.value)
        contact_id = contact_id_for(session, channel, address, sender_name) if address else None
        try:
            new_id = connection.execute(_INSERT, [{
                **_BLANK, "dedupe_key": dedupe_key, "channel": channel, "direction": Direction.inbound,
                "state": MessageState.stored, "contact_id": contact_id, "raw_json": raw_json, "external_id": external_id,
                "sender": address, "text": text, "clean_text": text.strip(), "headers": headers or {}, "received_at": now,
            }]).inserted_primary_key
            session.commit()
        except sa.exc.IntegrityError:  # the same update, stored by another handler a moment ago
            session.rollback()
            found = session.connection().execute(_FIND, {"k": dedupe_key}).first()
            assert found is not None
            return Stored(found[0], found[1] == MessageState.stored.value)
        return Stored(int(new_id[0]), True)


def contact_id_for(session: Session, channel: Channel, address: str, name: str = "") -> int:
    """The contact behind a chat address (made on first contact), by the cheapest read."""
    found = session.connection().execute(_CONTACT, {"c": channel.value, "a": address}).scalar()
    if found is not None:
        return int(found)
    contact = contact_for(session, channel, address, name)
    session.flush()
    assert contact.id is not None
    return contact.id


def turn(engine: Engine, key: str, channel: Channel, address: str, now: datetime,
         act: Callable[[Session, Chat], list[Reply]], *, handled: int | None = None) -> list[Reply]:
    """Load the chat, act, save the chat and what was said, commit — all or nothing.

    `handled` names the stored inbound message this turn answers; it is marked processed in
    the same commit, so a crash leaves it to be handled again and a success never repeats.
    """
    for attempt in range(5):
        try:
            return _turn(engine, key, channel, address, now, act, handled)
        except chat_state.StaleChat:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _turn(engine: Engine, key: str, channel: Channel, address: str, now: datetime,
          act: Callable[[Session, Chat], list[Reply]], handled: int | None) -> list[Reply]:
    with Session(engine, expire_on_commit=False) as session:
        try:
            if handled is not None:
                session.connection().execute(_HANDLED, {"i": handled, "now": now})
            chat = chat_state.load(session, key, channel, address)
            replies = act(session, chat)
            chat_state.save(session, chat, now)
            record_replies(session, chat, replies, now, answers=handled)
            reference = _reference(session, chat.case_id)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    if reference is not None or handled is not None:
        log.info("%s turn%s%s", channel.value, f" for message {handled}" if handled is not None else "",
                 f" on case {reference}" if reference else "",
                 extra={"channel": channel.value, "message_id": handled, "case": reference, **correlation.get()})
    return replies


def _reference(session: Session, case_id: int | None) -> str | None:
    """The case's reference, for the log line (read only when that line is written)."""
    if case_id is None or not log.isEnabledFor(logging.INFO):
        return None
    return session.connection().execute(_REFERENCE, {"i": case_id}).scalar()


def record_replies(session: Session, chat: Chat, replies: list[Reply], now: datetime, answers: int | None = None) -> None:
    """What Heard said in the chat, kept on the case so officers see the whole conversation;
    `answers` names the inbound message they answer (Telegram sends again what never went)."""
    if not replies:
        return
    contact_id = contact_id_for(session, chat.channel, chat.address)
    session.connection().execute(_INSERT, [{
        **_BLANK, "dedupe_key": f"{chat.channel.value}:said:{uuid.uuid4().hex}", "channel": chat.channel,
        "direction": Direction.outbound, "state": MessageState.processed, "case_id": chat.case_id,
        "contact_id": contact_id, "sender": "heard", "text": reply.text, "clean_text": reply.text,
        "received_at": now, "processed_at": now, "raw_json": None,
        "headers": {"to": chat.address, "buttons": [{"label": b.label, "value": b.value} for b in reply.buttons],
                    **({"answers": answers} if answers is not None else {})},
    } for reply in replies])
