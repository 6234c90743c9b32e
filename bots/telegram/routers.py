"""The Telegram bot's routers, one per feature: group chats, commands, the story (words),
files (photos, voice notes, documents), edits, buttons, and being blocked or unblocked.

Each handler gets the `Desk` and the `stored` inbound message (put there by the raw-first
middleware) and does one conversation turn; the replies are sent after the commit.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message as TgMessage
from sqlmodel import Session, select

from triage import figures
from bots.conversation import Chat, Reply, wording
from bots.conversation import casework
from bots.conversation.turn import Stored
from bots.telegram.desk import Desk, chunks
from models import Attachment, AuditEvent, Case, ConversationState, Message
from models.enums import MessageState

COMMANDS = frozenset({"start", "help", "status", "privacy", "new"})


def _group(message: TgMessage) -> bool:
    return message.chat.type != "private"


def _command(message: TgMessage) -> bool:
    """A command of ours (/status, /status@heard_bot …): plain string work, no parsing of entities."""
    text = message.text or ""
    return text.startswith("/") and text[1:].split(maxsplit=1)[0].split("@")[0].lower() in COMMANDS if text[1:] else False


def _words(message: TgMessage) -> bool:
    return message.text is not None


def groups() -> Router:
    """A group is no place for a complaint: a polite refusal, and nothing taken in."""
    router = Router(name="groups")

    @router.message(_group)
    async def refuse(message: TgMessage, bot: Bot, desk: Desk, stored: Stored) -> None:
        await desk.run(desk.ignore, stored.id, f"group chat ({message.chat.type})")
        figures.refused("telegram", "group_chat")
        await desk.show(bot, message.chat.id, [Reply(wording.GROUP_REFUSAL)])

    @router.edited_message(_group)
    async def ignore_edit(message: TgMessage, desk: Desk, stored: Stored) -> None:
        await desk.run(desk.ignore, stored.id, "group chat edit")

    return router


def commands() -> Router:
    router = Router(name="commands")

    @router.message(_command)
    async def command(message: TgMessage, bot: Bot, desk: Desk, stored: Stored) -> None:
        name = (message.text or "/help").split(maxsplit=1)[0].lstrip("/").split("@")[0]
        replies = await desk.turn(message.chat.id, _user(message), stored.id,
                                  lambda s, chat: desk.conversation.command(s, chat, name, desk.now()))
        await desk.show(bot, message.chat.id, replies, stored.id)

    return router


def story() -> Router:
    router = Router(name="story")

    @router.message(_words)
    async def words(message: TgMessage, bot: Bot, desk: Desk, stored: Stored) -> None:
        replies = await desk.turn(message.chat.id, _user(message), stored.id, _told(desk, stored.id, message.text or ""))
        await desk.show(bot, message.chat.id, replies, stored.id)

    return router


def files() -> Router:
    """Photos, voice notes and documents are kept (content within the size limit) and the
    sender is told the team will see them."""
    router = Router(name="files")

    @router.message(F.photo | F.voice | F.document | F.video | F.audio | F.video_note)
    async def kept(message: TgMessage, bot: Bot, desk: Desk, stored: Stored) -> None:
        what, item, name, content_type = _file_of(message)
        content, note = await _download(bot, item, desk.attachment_max_bytes)
        size = getattr(item, "file_size", None) or (len(content) if content else 0)

        def act(session: Session, chat: Chat) -> list[Reply]:
            session.add(Attachment(
                message_id=stored.id, filename=name, content_type=content_type, size=size,
                sha256=hashlib.sha256(content).hexdigest() if content else "", content=content,
                note=note or f"telegram file_id {item.file_id}"[:255],
            ))
            return _told(desk, stored.id, message.caption or "", what)(session, chat)

        replies = await desk.turn(message.chat.id, _user(message), stored.id, act)
        await desk.show(bot, message.chat.id, replies, stored.id)

    @router.message()
    async def anything_else(message: TgMessage, bot: Bot, desk: Desk, stored: Stored) -> None:
        """A sticker, a location…: kept raw, and the person is asked for words (greeted first if new)."""
        await desk.run(desk.ignore, stored.id, "not words or a file")
        replies = await desk.turn(message.chat.id, _user(message), None,
                                  lambda session, chat: desk.conversation.no_words(session, chat, desk.now()))
        await desk.show(bot, message.chat.id, replies)

    return router


def edits() -> Router:
    """An edited message changes what we hold: the message, the story being told, the summary."""
    router = Router(name="edits")

    @router.edited_message()
    async def edited(message: TgMessage, desk: Desk, stored: Stored) -> None:
        await desk.run(_apply_edit, desk, message, stored)

    return router


def buttons() -> Router:
    router = Router(name="buttons")

    @router.callback_query()
    async def pressed(query: CallbackQuery, bot: Bot, desk: Desk, stored: Stored) -> None:
        await query.answer()
        chat_id = query.message.chat.id if query.message else query.from_user.id
        if query.message is not None and query.message.chat.type != "private":
            await desk.run(desk.ignore, stored.id, "group chat button")
            return
        replies = await desk.turn(chat_id, query.from_user.id, stored.id,
                                  lambda s, chat: desk.conversation.press(s, chat, query.data or "", desk.now()))
        await desk.show(bot, chat_id, replies, stored.id)

    return router


def membership() -> Router:
    """Blocking the bot (or unblocking it) is a my_chat_member update."""
    router = Router(name="membership")

    @router.my_chat_member()
    async def changed(update: ChatMemberUpdated, desk: Desk, stored: Stored) -> None:
        status = update.new_chat_member.status
        if update.chat.type == "private" and status in ("kicked", "left"):
            await desk.run(desk.mark_unreachable, str(update.chat.id), "the person blocked the bot")
        elif update.chat.type == "private" and status == "member":
            await desk.run(desk.mark_unreachable, str(update.chat.id), "the person unblocked the bot", False)
        await desk.run(desk.ignore, stored.id, f"membership: {status}")

    return router


def all_routers() -> list[Router]:
    """In order: groups are refused before anything else; commands before words."""
    return [groups(), commands(), edits(), buttons(), membership(), story(), files()]


def _user(message: TgMessage) -> int:
    return message.from_user.id if message.from_user else message.chat.id


def _told(desk: Desk, message_id: int, text: str, what: str = ""):  # type: ignore[no-untyped-def]
    def act(session: Session, chat: Chat) -> list[Reply]:
        return desk.conversation.message(session, chat, message_id, desk.now(), text=text, what=what)
    return act


def _file_of(message: TgMessage) -> tuple[str, Any, str, str]:
    if message.photo:
        return "photo", message.photo[-1], "photo.jpg", "image/jpeg"
    if message.voice:
        return "voice note", message.voice, "voice.ogg", message.voice.mime_type or "audio/ogg"
    if message.document:
        d = message.document
        return "document", d, d.file_name or "document", d.mime_type or "application/octet-stream"
    if message.video:
        return "video", message.video, message.video.file_name or "video.mp4", message.video.mime_type or "video/mp4"
    if message.audio:
        return "recording", message.audio, message.audio.file_name or "audio", message.audio.mime_type or "audio/mpeg"
    return "video", message.video_note, "video_note.mp4", "video/mp4"


async def _download(bot: Bot, item: Any, limit: int) -> tuple[bytes | None, str]:
    """The file's content, or why it was not kept (too big, or Telegram would not give it)."""
    if (getattr(item, "file_size", None) or 0) > limit:
        return None, f"over {limit} bytes: not kept (telegram file_id {item.file_id})"[:255]
    try:
        stream = await bot.download(item.file_id)
    except Exception as exc:  # the message and its file id are kept; officers can ask again
        return None, f"could not download ({type(exc).__name__}); telegram file_id {item.file_id}"[:255]
    content = stream.read() if stream else b""
    if len(content) > limit:
        return None, f"over {limit} bytes: not kept (telegram file_id {item.file_id})"[:255]
    return content, ""


def _apply_edit(desk: Desk, edited: TgMessage, stored: Stored) -> None:
    now = desk.now()
    text = edited.text or edited.caption or ""
    with Session(desk.engine) as session:
        original = session.exec(select(Message).where(
            Message.external_id == f"telegram:{edited.chat.id}:{edited.message_id}")).first()
        row = session.get_one(Message, stored.id)
        row.state, row.processed_at = MessageState.processed, now
        if original is None:
            row.error = "edit of a message we do not hold"
            session.commit()
            return
        before = original.clean_text
        original.text, original.clean_text = text, text.strip()
        original.headers = {**original.headers, "edited_at": now.isoformat(), "text_before_edit": before}
        row.case_id, row.headers = original.case_id, {**row.headers, "edit_of": original.id}
        for state in session.exec(select(ConversationState).where(ConversationState.key.startswith(f"telegram:{edited.chat.id}:"))):
            parts = state.data.get("parts") or []
            if any(p[0] == original.id for p in parts):
                state.data = {**state.data, "parts": [[p[0], text if p[0] == original.id else p[1]] for p in parts]}
        if original.case_id and (case := session.get(Case, original.case_id)) is not None:
            if before and before in case.summary:
                case.summary = case.summary.replace(before, text.strip())[:500]
            session.add(AuditEvent(at=now, actor="intake:telegram", case_id=case.id, action="message_edited",
                                   detail={"message_id": original.id}))
            if desk.conversation.classify and (s := desk.conversation.classify(text)).safeguarding:
                casework.flag_safeguarding(session, case, s, now, case.channel)
        session.commit()


__all__ = ["all_routers", "chunks"]
