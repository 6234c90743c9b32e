"""How updates get in: raw first, then the dispatcher — by long polling or by webhook.

1. Every update is committed as it arrived (`telegram:update:<update_id>`) before it is handled.
   Polling stores each batch before moving its offset on, so a database failure means
   Telegram sends the batch again; the webhook answers 503 (Telegram retries) until it can store.
2. The `RawFirst` middleware makes a repeat harmless: an update already handled is skipped;
   one stored but never handled (a crash) is handled now. Updates of one chat are handled
   one at a time, in order.
3. At start, anything left stored by a killed process is handled.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetUpdates
from aiogram.types import Update
import aiohttp
from aiohttp import web
from sqlmodel import Session, select

from bots.conversation.turn import correlation
from bots.telegram.desk import Desk, where
from models import Message
from models.enums import Channel, MessageState

log = logging.getLogger("heard.telegram")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class RawFirst(BaseMiddleware):
    """Store (or find) the raw update and skip it if already handled. (Order within a chat is
    kept by whoever feeds the dispatcher, holding `desk.lock(chat)` from before the first await.)"""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def __call__(self, handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any,
                       data: dict[str, Any]) -> Any:
        update: Update = event
        stored = data.get("stored") or await self.desk.run(self.desk.store_update, update, data.get("raw_update"))
        if not stored.fresh:
            return UNHANDLED  # a repeat of something already handled
        data["stored"] = stored
        token = correlation.set({"update_id": update.update_id})  # on the turn's log line
        try:
            result = await handler(event, data)
        finally:
            correlation.reset(token)
        if result is UNHANDLED:
            await self.desk.run(self.desk.ignore, stored.id, "no handler for this kind of update")
        return result


def build_dispatcher(desk: Desk, storage: Any) -> Dispatcher:
    from bots.telegram.routers import all_routers

    dp = Dispatcher(storage=storage, desk=desk)
    dp.update.outer_middleware(RawFirst(desk))
    dp.include_routers(*all_routers())
    return dp


class Poller:
    """Long polling that never moves past an update it has not stored."""

    def __init__(self, bot: Bot, dp: Dispatcher, desk: Desk, *, timeout: int = 30, retry: float = 1.0) -> None:
        self.bot, self.dp, self.desk, self.timeout, self.retry = bot, dp, desk, timeout, retry
        self.offset: int | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        wait = self.retry
        while True:
            try:
                updates = await self.bot(GetUpdates(offset=self.offset, timeout=self.timeout,
                                                    allowed_updates=ALLOWED_UPDATES))
            except (TelegramAPIError, OSError, asyncio.TimeoutError) as exc:
                log.warning("getUpdates failed (%s); trying again in %.0f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 60)
                continue
            wait = self.retry
            if not updates:
                continue
            stored = await self._store(updates)
            self.offset = updates[-1].update_id + 1
            for update in updates:
                if not stored[update.update_id].fresh:
                    continue  # already handled: Telegram sent it again
                task = asyncio.create_task(self._handle(update, stored[update.update_id]))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def _store(self, updates: list[Update]) -> dict[int, Any]:
        wait = self.retry
        while True:
            try:
                return await self.desk.run(self.desk.store_updates, updates)
            except Exception as exc:  # the database is away: keep the offset, so nothing is lost
                log.warning("cannot store %d updates (%s); trying again in %.0f s", len(updates), exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 60)

    async def _handle(self, update: Update, stored: Any) -> None:
        try:
            async with self.desk.lock(str(where(update)[0])):  # taken at once: tasks queue in arrival order
                await self.dp.feed_update(self.bot, update, stored=stored)
        except Exception:  # stays `stored`; handled again at the next start
            log.exception("handling update %s failed", update.update_id, extra={"update_id": update.update_id})

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


async def recover(bot: Bot, dp: Dispatcher, desk: Desk) -> int:
    """Handle updates a killed process stored but never handled, oldest first."""
    def leftovers() -> list[dict[str, Any]]:
        with Session(desk.engine) as session:
            return [raw for raw in session.exec(
                select(Message.raw_json).where(Message.channel == Channel.telegram, Message.state == MessageState.stored,
                                               Message.dedupe_key.startswith("telegram:update:")).order_by(Message.id)
            ) if raw]
    raws = await desk.run(leftovers)
    for raw in raws:
        try:
            await dp.feed_update(bot, Update.model_validate(raw, context={"bot": bot}), raw_update=raw)
        except Exception:
            log.exception("handling a left-over update failed")
    return len(raws)


def webhook_app(bot: Bot, dp: Dispatcher, desk: Desk, secret: str, path: str = "/telegram/webhook") -> web.Application:
    """Telegram's webhook: the secret-token header checked, the body stored as received, then handled."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"ok": False, "description": "wrong secret token"}, status=401)
        try:
            raw = json.loads(await request.read())
            update = Update.model_validate(raw, context={"bot": bot})
        except (ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "description": f"not an update: {exc}"[:200]}, status=400)
        try:
            stored = await desk.run(desk.store_update, update, raw)
        except Exception:
            log.exception("cannot store a webhook update; Telegram will send it again")
            return web.json_response({"ok": False, "description": "try again later"}, status=503)
        chat_id = where(update)[0]
        try:
            async with desk.lock(str(chat_id)):
                if stored.fresh:
                    await dp.feed_update(bot, update, raw_update=raw, stored=stored)
                elif chat_id is not None:  # handled before: send what never went (a kill, a Telegram error)
                    await desk.show_unsent(bot, chat_id, stored.id)
        except (TelegramAPIError, aiohttp.ClientError, OSError, asyncio.TimeoutError):
            # Telegram did not take the replies: it is asked to send the update again, and the
            # repeat sends what never went (the turn itself is done and is not done twice).
            log.exception("replying to webhook update %s failed; Telegram will send it again", update.update_id)
            return web.json_response({"ok": False, "description": "try again later"}, status=503)
        except Exception:  # stored: handled again at the next start
            log.exception("handling webhook update %s failed", update.update_id, extra={"update_id": update.update_id})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post(path, receive)
    return app
