"""The web chat's background part of `heard serve`: deliver outbox items to web chats and
close stories that have paused.

Delivering to a web chat is making the message visible there: it is recorded as an outbound
message on the case and the chat page (which polls) shows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bots.conversation import Conversation
from bots.conversation.outbox import ChatSender
from bots.conversation.pauses import close_paused
from bots.outbox import cancel_all, every
from models import OutboxItem
from models.enums import Channel
from scheduler.clock import Clock
from scheduler.policy import Policy
from triage.intake import Classify


async def show_in_chat(item: OutboxItem) -> str:
    """Nothing to call: the outbound message the sender records is what the chat page shows."""
    return f"webchat:outbox:{item.id}"


class WebChatService:
    def __init__(self, engine: Engine, policy: Policy, zone: ZoneInfo, *, classify: Classify | None = None,
                 pause_seconds: float = 120, interval: float = 2.0,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.interval, self.now = engine, interval, now
        self.conversation = Conversation(Clock(policy), zone, classify, pause=timedelta(seconds=pause_seconds))
        self.sender = ChatSender(engine, Channel.webchat, show_in_chat, now)
        self.tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        self.tasks = [asyncio.create_task(self.sender.run(self.interval)), asyncio.create_task(self._sweep())]

    async def stop(self) -> None:
        await cancel_all(self.tasks)

    async def sweep_once(self) -> int:
        closed = await asyncio.to_thread(close_paused, self.engine, self.conversation, Channel.webchat, self.now())
        return len(closed)

    async def _sweep(self) -> None:
        await every(self.interval, self.sweep_once, "the web chat pause sweep")
