"""A pause closes a story: chats left mid-story longer than the pause are closed, as if the
person had tapped "That's everything". Each adapter runs this and shows the replies its way
(holding its own per-chat order while it does)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bots.conversation import state as chat_state
from bots.conversation import turn as turns
from bots.conversation.dialogue import Conversation, Reply
from models import ConversationState
from models.enums import Channel


def paused_chats(engine: Engine, conversation: Conversation, channel: Channel, now: datetime) -> list[tuple[str, str]]:
    """(key, address) of every chat on this channel whose story has paused."""
    with Session(engine) as session:
        keys = chat_state.paused(session, f"{channel.value}:", "story", now, conversation.pause)
        return [(key, (session.get_one(ConversationState, key).data or {}).get("address", "")) for key in keys]


def close_one(engine: Engine, conversation: Conversation, channel: Channel, key: str, address: str,
              now: datetime) -> list[Reply]:
    return turns.turn(engine, key, channel, address, now, lambda s, chat: conversation.close_if_paused(s, chat, now))


def close_paused(engine: Engine, conversation: Conversation, channel: Channel, now: datetime) -> list[tuple[str, list[Reply]]]:
    """Close every paused story on this channel; returns (address, replies) for each closed."""
    closed = []
    for key, address in paused_chats(engine, conversation, channel, now):
        if replies := close_one(engine, conversation, channel, key, address, now):
            closed.append((address, replies))
    return closed
