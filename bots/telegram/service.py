"""The Telegram bot as one part of `heard serve`: start and stop.

Running: the dispatcher (long polling by default, or a webhook whose secret-token header is
checked), the pause sweep that closes stories, and the outbox sender that delivers officers'
replies and the scheduler's messages to Telegram chats.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest, TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError,
)
from aiohttp import web
from sqlalchemy.engine import Engine

from bots.conversation import Conversation
from bots.conversation.outbox import ChatSender, DeliveryFailed, buttons_of
from bots.conversation.pauses import close_one, paused_chats
from bots.outbox import cancel_all, every
from bots.telegram.desk import Desk, chunks, keyboard
from bots.telegram.intake import ALLOWED_UPDATES, Poller, build_dispatcher, recover, webhook_app
from bots.telegram.storage import SQLStorage
from models import OutboxItem
from models.enums import Channel
from scheduler.clock import Clock
from scheduler.policy import Policy
from triage.intake import Classify


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_base: str = "https://api.telegram.org"
    mode: str = "polling"  # or "webhook"
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8081
    pause_seconds: float = 120
    attachment_max_bytes: int = 10 * 1024 * 1024
    polling_timeout: int = 30
    sweep_seconds: float = 5
    outbox_seconds: float = 2

    def __post_init__(self) -> None:
        """A wrong combination is one clear line at start, not a bot that silently hears nothing."""
        if self.mode not in ("polling", "webhook"):
            raise ValueError(f"HEARD_TELEGRAM_MODE must be polling or webhook, not {self.mode!r}")
        if self.mode == "webhook":
            if not self.webhook_url.startswith("https://"):
                raise ValueError("HEARD_TELEGRAM_WEBHOOK_URL must be the https:// address Telegram will post to")
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", self.webhook_secret):
                raise ValueError("HEARD_TELEGRAM_WEBHOOK_SECRET must be 16–256 letters, digits, _ or -")


def make_bot(token: str, api_base: str) -> Bot:
    """A Bot whose every call goes to `api_base` (Telegram, or a local Bot API server)."""
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base.rstrip("/"))))


def telegram_deliver(bot: Bot) -> Callable[[OutboxItem], Any]:
    """sendMessage for one outbox item; Telegram's errors become retry-or-not decisions."""

    async def deliver(item: OutboxItem) -> str:
        from bots.conversation.dialogue import Button, Reply

        reply = Reply(item.body, tuple(Button(b["label"], b["value"]) for b in buttons_of(item)))
        try:
            sent_ids = []
            parts = chunks(item.body)
            for i, part in enumerate(parts):
                markup = keyboard(reply) if i == len(parts) - 1 else None
                sent = await bot.send_message(chat_id=int(item.recipient), text=part, reply_markup=markup)
                sent_ids.append(str(sent.message_id))
            return f"telegram:{item.recipient}:{sent_ids[-1]}"
        except TelegramForbiddenError as exc:
            raise DeliveryFailed(f"403 {exc.message}", permanent=True, unreachable=True) from None
        except TelegramRetryAfter as exc:
            raise DeliveryFailed(f"429 {exc.message}", retry_after=exc.retry_after) from None
        except TelegramBadRequest as exc:
            raise DeliveryFailed(f"400 {exc.message}", permanent=True) from None
        except (TelegramServerError, TelegramNetworkError, OSError) as exc:
            raise DeliveryFailed(str(exc) or type(exc).__name__) from None
        except ValueError:
            raise DeliveryFailed(f"not a Telegram chat id: {item.recipient!r}", permanent=True) from None

    return deliver


class TelegramService:
    def __init__(self, engine: Engine, policy: Policy, zone: ZoneInfo, config: TelegramConfig,
                 classify: Classify | None = None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.config, self.now = engine, config, now
        conversation = Conversation(Clock(policy), zone, classify, pause=timedelta(seconds=config.pause_seconds))
        self.desk = Desk(engine, conversation, now, config.attachment_max_bytes)
        self.bot = make_bot(config.token, config.api_base)
        self.dp = build_dispatcher(self.desk, SQLStorage(engine, self.desk.database))
        self.sender = ChatSender(engine, Channel.telegram, telegram_deliver(self.bot), now,
                                 on_unreachable=lambda item, why: self.desk.mark_unreachable(item.recipient, why))
        self.poller: Poller | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.runner: web.AppRunner | None = None

    @property
    def where(self) -> str:
        if self.config.mode == "webhook":
            return f"webhook {self.config.webhook_url} (listening on {self.config.webhook_host}:{self.config.webhook_port})"
        return f"long polling {self.config.api_base}"

    async def start(self) -> None:
        await recover(self.bot, self.dp, self.desk)
        if self.config.mode == "webhook":
            app = webhook_app(self.bot, self.dp, self.desk, self.config.webhook_secret)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            await web.TCPSite(self.runner, self.config.webhook_host, self.config.webhook_port).start()
            await self.bot.set_webhook(self.config.webhook_url, secret_token=self.config.webhook_secret,
                                       allowed_updates=ALLOWED_UPDATES)
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            self.poller = Poller(self.bot, self.dp, self.desk, timeout=self.config.polling_timeout)
            self.tasks.append(asyncio.create_task(self.poller.run()))
        self.tasks.append(asyncio.create_task(self._sweep()))
        self.tasks.append(asyncio.create_task(self.sender.run(self.config.outbox_seconds)))

    async def stop(self) -> None:
        await cancel_all(self.tasks)
        if self.poller:
            await self.poller.drain()
        if self.runner:
            await self.runner.cleanup()
        await self.bot.session.close()
        self.desk.database.shutdown(wait=True)

    async def sweep_once(self) -> int:
        """Close stories left paused, and send what the conversation says."""
        conversation, now = self.desk.conversation, self.now()
        waiting = await self.desk.run(paused_chats, self.engine, conversation, Channel.telegram, now)
        closed = 0
        for key, address in waiting:
            async with self.desk.lock(address):
                replies = await self.desk.run(close_one, self.engine, conversation, Channel.telegram, key, address, now)
            if replies:
                closed += 1
                await self.desk.show(self.bot, int(address), replies)
        return closed

    async def _sweep(self) -> None:
        async def round_() -> None:
            await self.desk.resend_unsent(self.bot)  # first: at a start, what a kill left unsent
            await self.sweep_once()

        await every(self.config.sweep_seconds, round_, "the Telegram pause sweep")
