"""Web chat: the same conversation on a page Heard serves, for young people without Telegram."""

from bots.webchat.router import webchat_router

__all__ = ["webchat_router"]
