"""What every Telegram handler shares: the database, the conversation, the clock, per-chat
ordering, storing raw updates, showing replies as messages with buttons, and noticing a
person who blocked the bot."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage import figures
from bots.conversation import Chat, Conversation, Reply
from bots.conversation import turn as turns
from bots.telegram.storage import chat_key
from models import AuditEvent, Case, ChannelIdentity, Contact, Message
from models.enums import CaseStatus, Channel, Direction, MessageState
from triage.intake import contact_for

log = logging.getLogger("heard.telegram")

TELEGRAM_LIMIT = 4096


def raw_of(update: Update) -> dict[str, Any]:
    """The update as Telegram sent it (aiogram keeps which fields were set, and unknown ones)."""
    return update.model_dump(mode="json", exclude_unset=True, by_alias=True)


def where(update: Update) -> tuple[int | None, int | None, str]:
    """(chat id, user id, words) of an update, for storing and for the conversation key."""
    if m := (update.message or update.edited_message):
        return m.chat.id, (m.from_user.id if m.from_user else m.chat.id), m.text or m.caption or ""
    if q := update.callback_query:
        chat_id = q.message.chat.id if q.message else q.from_user.id
        return chat_id, q.from_user.id, label_of(q.message, q.data or "") if q.message else (q.data or "")
    if c := update.my_chat_member:
        return c.chat.id, c.from_user.id, ""
    return None, None, ""


def label_of(message: Any, value: str) -> str:
    """The words on the button pressed, so the transcript reads as the person saw it."""
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or []:
        for button in row:
            if button.callback_data == value:
                return button.text
    return value


def keyboard(replies: Reply) -> InlineKeyboardMarkup | None:
    if not replies.buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=b.label, callback_data=b.value)]
                                                 for b in replies.buttons])


def chunks(text: str) -> list[str]:
    return [text[i:i + TELEGRAM_LIMIT] for i in range(0, len(text), TELEGRAM_LIMIT)] or [""]


@dataclass
class Desk:
    engine: Engine
    conversation: Conversation
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    attachment_max_bytes: int = 10 * 1024 * 1024
    _locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(default_factory=weakref.WeakValueDictionary)
    # Database threads of its own: one for SQLite, whose single writer's busy wait sleeps (so
    # queueing here is faster than colliding), a few for PostgreSQL. The event loop never waits.
    database: ThreadPoolExecutor = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.database is None:
            threads = 1 if self.engine.dialect.name == "sqlite" else 4
            self.database = ThreadPoolExecutor(threads, thread_name_prefix="heard-telegram-db")

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # In this task's context, so what the log lines of `fn` carry (the update's id) goes with it.
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.database, call)

    def lock(self, key: str) -> asyncio.Lock:
        """One update at a time per chat, so a story's parts are never interleaved or lost."""
        found = self._locks.get(key)
        if found is None:
            found = self._locks[key] = asyncio.Lock()
        return found

    # --- raw first -------------------------------------------------------------------------

    def store_updates(self, updates: Sequence[Update], raws: Sequence[dict[str, Any]] | None = None) -> dict[int, turns.Stored]:
        """Commit a batch of raw updates in one transaction (one multi-row insert); returns what
        each became, by update_id (a repeat already handled comes back not fresh)."""
        raws = list(raws) if raws is not None else [raw_of(u) for u in updates]
        keys = {f"telegram:update:{u.update_id}": u.update_id for u in updates}
        now = self.now()
        with Session(self.engine, expire_on_commit=False) as session:
            def known() -> dict[int, turns.Stored]:
                found = session.execute(sa.select(Message.dedupe_key, Message.id, Message.state)
                                        .where(Message.dedupe_key.in_(list(keys)))).all()
                return {keys[k]: turns.Stored(i, st == MessageState.stored) for k, i, st in found}
            result = known()
            contacts: dict[str, int | None] = {}
            rows: dict[int, dict[str, Any]] = {}
            for update, raw in zip(updates, raws):
                if update.update_id not in result and update.update_id not in rows:
                    rows[update.update_id] = self._row(session, update, raw, now, contacts)
            if not rows:
                return result
            try:
                session.execute(sa.insert(Message), list(rows.values()))
                added = known()
                session.commit()
            except sa.exc.IntegrityError:
                session.rollback()
                added = None
        if added is None:  # a race with another handler: one by one
            return {u.update_id: self.store_update(u, raw) for u, raw in zip(updates, raws)}
        figures.accepted("telegram", len(rows))
        return {**added, **result}

    def store_update(self, update: Update, raw: dict[str, Any] | None = None) -> turns.Stored:
        chat_id, _user, text = where(update)
        message = update.message
        stored = turns.store(
            self.engine, dedupe_key=f"telegram:update:{update.update_id}", channel=Channel.telegram,
            address=str(chat_id) if chat_id is not None else "", now=self.now(), text=text,
            raw_json=raw if raw is not None else raw_of(update),
            external_id=f"telegram:{message.chat.id}:{message.message_id}" if message else "",
            sender_name=_name(update), headers=_headers(update),
        )
        if stored.fresh:
            figures.accepted("telegram")
        return stored

    def _row(self, session: Session, update: Update, raw: dict[str, Any], now: datetime,
             contacts: dict[str, int | None]) -> dict[str, Any]:
        chat_id, _user, text = where(update)
        address = str(chat_id) if chat_id is not None else ""
        if address and address not in contacts:
            contacts[address] = session.execute(_CONTACT, {"a": address}).scalar() or \
                contact_for(session, Channel.telegram, address, _name(update)).id
        message = update.message
        return {
            "dedupe_key": f"telegram:update:{update.update_id}", "channel": Channel.telegram,
            "direction": Direction.inbound, "state": MessageState.stored, "contact_id": contacts.get(address),
            "raw_json": raw, "sender": address, "text": text, "clean_text": text.strip(),
            "external_id": f"telegram:{message.chat.id}:{message.message_id}" if message else "",
            "headers": _headers(update), "received_at": now, "in_reply_to": "", "references": "", "subject": "",
            "error": "", "possible_escalation": False,
        }

    def ignore(self, message_id: int, why: str) -> None:
        with Session(self.engine) as session:
            session.execute(sa.update(Message).where(Message.id == message_id, Message.state == MessageState.stored)
                            .values(state=MessageState.ignored, error=why, processed_at=self.now()))
            session.commit()

    # --- a turn of the conversation ----------------------------------------------------------

    async def turn(self, chat_id: int, user_id: int, handled: int | None,
                   act: Callable[[Session, Chat], list[Reply]]) -> list[Reply]:
        return await self.run(
            turns.turn, self.engine, chat_key(chat_id, user_id), Channel.telegram, str(chat_id), self.now(), act,
            handled=handled,
        )

    async def show(self, bot: Bot, chat_id: int, replies: Sequence[Reply], answered: int | None = None) -> None:
        """Send the replies in order; a 403 (they blocked the bot) marks them unreachable.

        `answered` is the inbound message the replies answer: once they are sent it is marked
        so. The turn was committed first, so a process killed (or a Telegram error) before that
        leaves it unmarked, and when Telegram sends the update again (the webhook did not
        answer 200) `show_unsent` sends them then: an acknowledgement is never lost, and
        is sent twice only if the process dies in the instant after sending."""
        try:
            for reply in replies:
                parts = chunks(reply.text)
                for i, part in enumerate(parts):
                    markup = keyboard(reply) if i == len(parts) - 1 else None
                    await bot.send_message(chat_id=chat_id, text=part, reply_markup=markup)
        except TelegramForbiddenError as exc:
            await self.run(self.mark_unreachable, str(chat_id), exc.message)
        if answered is not None:
            await self.run(self._mark_answered, answered)

    async def show_unsent(self, bot: Bot, chat_id: int, answered: int) -> bool:
        """A repeat of an update already handled: send the replies to it that never went (True if there were any)."""
        replies = await self.run(self._unsent, answered)
        if replies is not None:
            await self.show(bot, chat_id, replies, answered)
        return bool(replies)

    async def resend_unsent(self, bot: Bot, within: timedelta = timedelta(hours=1)) -> int:
        """Send the replies of turns committed in the last `within` that were never marked sent.

        Long polling moves Telegram's offset on as soon as an update is stored, so, unlike the
        webhook, nobody sends the update again when the process is killed between a turn's
        commit and its replies, or Telegram refuses them for a while: this sends them, from the
        pause sweep and so at every start. Each chat's lock is taken and the mark checked again
        under it, so a turn still being answered is never answered twice. `within` bounds the
        look-back: a reply older than an hour would only confuse. Returns the turns answered."""
        answered = 0
        for address, message_id in await self.run(self._unanswered, self.now() - within):
            async with self.lock(address):
                answered += await self.show_unsent(bot, int(address), message_id)
        return answered

    def _unanswered(self, since: datetime) -> list[tuple[str, int]]:
        """(chat, inbound message) of each turn since `since` whose replies were never marked sent."""
        with Session(self.engine) as session:
            rows = session.execute(sa.select(Message.sender, Message.id, Message.headers).where(
                Message.channel == Channel.telegram, Message.direction == Direction.inbound,
                Message.state == MessageState.processed, Message.received_at >= since).order_by(Message.id)).all()
        return [(sender, message_id) for sender, message_id, headers in rows
                if sender.lstrip("-").isdigit() and not (headers or {}).get("replies_sent")]

    def _mark_answered(self, message_id: int) -> None:
        with Session(self.engine) as session:
            headers = session.execute(sa.select(Message.headers).where(Message.id == message_id)).scalar()
            session.execute(sa.update(Message).where(Message.id == message_id)
                            .values(headers={**(headers or {}), "replies_sent": True}))
            session.commit()

    def _unsent(self, message_id: int) -> list[Reply] | None:
        """The replies recorded for this inbound message, if they were never marked sent (else None)."""
        from bots.conversation.dialogue import Button

        with Session(self.engine) as session:
            inbound = session.execute(sa.select(Message.state, Message.headers, Message.contact_id)
                                      .where(Message.id == message_id)).first()
            if inbound is None or inbound.state != MessageState.processed or (inbound.headers or {}).get("replies_sent"):
                return None
            said = session.execute(sa.select(Message.text, Message.headers).where(
                Message.contact_id == inbound.contact_id, Message.channel == Channel.telegram,
                Message.direction == Direction.outbound, Message.id > message_id).order_by(Message.id).limit(50)).all()
        return [Reply(text, tuple(Button(b["label"], b["value"]) for b in (headers or {}).get("buttons", [])))
                for text, headers in said if (headers or {}).get("answers") == message_id]

    # --- reachability ----------------------------------------------------------------------

    def mark_unreachable(self, address: str, why: str, unreachable: bool = True) -> None:
        """Blocked (or unblocked): the contact is marked, and officers see it on every live case."""
        now = self.now()
        with Session(self.engine) as session:
            identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == Channel.telegram,
                                                                  ChannelIdentity.address == address)).first()
            contact = session.get(Contact, identity.contact_id) if identity else None
            if contact is None or contact.unreachable == unreachable:
                return
            contact.unreachable, contact_id = unreachable, contact.id
            live = session.exec(select(Case).where(Case.contact_id == contact.id, Case.status != CaseStatus.closed,
                                                   Case.status != CaseStatus.merged))
            for case in live:
                session.add(AuditEvent(at=now, actor="telegram", case_id=case.id,
                                       action="contact_unreachable" if unreachable else "contact_reachable",
                                       detail={"channel": "telegram", "why": why[:500]}))
            session.commit()
        log.info("telegram contact %d is now %s", contact_id, "unreachable" if unreachable else "reachable",
                 extra={"channel": "telegram"})


_IDENTITIES = ChannelIdentity.__table__  # type: ignore[attr-defined]
_CONTACT = sa.select(_IDENTITIES.c.contact_id).where(_IDENTITIES.c.channel == Channel.telegram.value,
                                                     _IDENTITIES.c.address == sa.bindparam("a"))


def _name(update: Update) -> str:
    chat_id, user_id, _text = where(update)
    user = None
    if m := (update.message or update.edited_message):
        user = m.from_user
    elif update.callback_query:
        user = update.callback_query.from_user
    return user.full_name if user else ""


def _headers(update: Update) -> dict[str, Any]:
    kind = next((name for name in ("message", "edited_message", "callback_query", "my_chat_member")
                 if getattr(update, name, None) is not None), "other")
    headers: dict[str, Any] = {"update": kind}
    if update.callback_query:
        headers["button"] = update.callback_query.data
    return headers
