"""The channel-agnostic conversation: one dialogue, rendered by the Telegram and web chat adapters."""

from bots.conversation.dialogue import Button, Conversation, Reply
from bots.conversation.state import Chat

__all__ = ["Button", "Chat", "Conversation", "Reply"]
