"""Where each chat is, kept in the database (models.audit.ConversationState) as plain JSON.

One row per chat, keyed `<channel>:<address>` (Telegram adds the user: `telegram:<chat>:<user>`).
It is written in the same transaction as whatever the turn did to the case record, so a
restart carries on exactly where the conversation was — never a case opened twice, never a
story part lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from models import ConversationState
from models.enums import Channel


@dataclass
class Chat:
    """One conversation as the dialogue sees it: which chat, its state and its data."""

    key: str
    channel: Channel
    address: str
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    version: datetime | None = None  # updated_at as loaded: a save checks nobody saved in between

    @property
    def parts(self) -> list[list[Any]]:
        """The story so far: [message id, text] pairs."""
        return self.data.setdefault("parts", [])

    @property
    def case_id(self) -> int | None:
        return self.data.get("case_id")


class StaleChat(Exception):
    """Another turn saved this chat since it was loaded (another process); the turn is retried."""


_TABLE = ConversationState.__table__  # type: ignore[attr-defined]
# Built once, so each turn reuses the compiled statements (a chat turn is on the hot path).
_LOAD = sa.select(_TABLE.c.state, _TABLE.c.data, _TABLE.c.updated_at).where(_TABLE.c.key == sa.bindparam("k"))
_INSERT = sa.insert(_TABLE).values(key=sa.bindparam("k"), state=sa.bindparam("s"), data=sa.bindparam("d"),
                                   updated_at=sa.bindparam("u"))
_SAVE = (sa.update(_TABLE).where(_TABLE.c.key == sa.bindparam("k"), _TABLE.c.updated_at == sa.bindparam("v"))
         .values(state=sa.bindparam("s"), data=sa.bindparam("d"), updated_at=sa.bindparam("u")))


def load(session: Session, key: str, channel: Channel, address: str) -> Chat:
    row = session.connection().execute(_LOAD, {"k": key}).first()
    if row is None:
        return Chat(key, channel, address, None, {"address": address})
    data = dict(row.data or {})
    data.setdefault("address", address)
    return Chat(key, channel, address, row.state, data, row.updated_at)


def save(session: Session, chat: Chat, now: datetime) -> None:
    """Write the chat back, only if nobody else wrote it since it was loaded (else `StaleChat`)."""
    data = {**chat.data, "address": chat.address, "channel": chat.channel.value}
    connection = session.connection()
    if chat.version is None:
        try:
            with connection.begin_nested():
                connection.execute(_INSERT, {"k": chat.key, "s": chat.state, "d": data, "u": now})
        except sa.exc.IntegrityError:
            raise StaleChat(chat.key) from None
        return
    stamp = max(now, _utc(chat.version) + timedelta(microseconds=1))  # strictly newer, even on a fixed clock
    saved = connection.execute(_SAVE, {"k": chat.key, "v": chat.version, "s": chat.state, "d": data, "u": stamp}).rowcount
    if not saved:
        raise StaleChat(chat.key)


def _utc(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def paused(session: Session, prefix: str, state: str, now: datetime, pause: timedelta, limit: int = 100) -> list[str]:
    """Keys of chats left in `state` for longer than `pause` (the story that a pause closes)."""
    return list(session.exec(
        select(ConversationState.key).where(ConversationState.key.startswith(prefix), ConversationState.state == state,
                                            ConversationState.updated_at <= now - pause).limit(limit)
    ))
