"""The Telegram webhook (secret-token header), officers' replies through the outbox, and the
FSM storage on the database — over real HTTP against the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlmodel import Session, select

from bots.conversation import wording
from bots.telegram.service import TelegramService
from bots.telegram.storage import SQLStorage
from models import AuditEvent, Case, ChannelIdentity, Contact, Message, OutboxItem
from models.enums import Channel, Direction, OutboxStatus
from tests.helpers import free_port
from tests.telegram_fake import FakeBotAPI
from tests.test_telegram import CHAT, Clock, fake, service  # noqa: F401  (fake: the fake Bot API fixture)

SECRET = "a-long-webhook-secret-0123456789"


async def test_the_webhook_refuses_a_wrong_secret_and_stores_a_right_one_as_sent(engine, fake) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    running = service(engine, fake, mode="webhook", webhook_url="https://heard.example/telegram/webhook",
                      webhook_secret=SECRET, webhook_port=port)
    await running.start()
    update = {"update_id": 77, "message": {"message_id": 1, "date": 1, "text": "/start",
                                           "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                                           "chat": {"id": CHAT, "type": "private"},
                                           "from": {"id": CHAT, "is_bot": False, "first_name": "Sam"}}}
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as missing:
                assert missing.status == 401
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as wrong:
                assert wrong.status == 401
            with Session(engine) as session:
                assert session.exec(select(Message)).all() == []
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as right:
                assert right.status == 200
    finally:
        await running.stop()
    assert [c.params["secret_token"] for c in fake.calls if c.method == "setWebhook"] == [SECRET]
    assert fake.texts_to(CHAT)[0].startswith(wording.GREETING)
    with Session(engine) as session:
        [stored] = session.exec(select(Message).where(Message.direction == Direction.inbound)).all()
        assert stored.raw_json == update


async def _opened_case(engine, fake: FakeBotAPI) -> TelegramService:  # type: ignore[no-untyped-def]
    running = service(engine, fake)
    await running.start()
    fake.text(CHAT, "Nobody rang me back.")
    fake.press(CHAT, "done")
    await fake.wait_for(lambda: wording.ADVOCATE_OFFER in fake.texts_to(CHAT))  # the last thing it says
    return running


def _reply(engine, body: str) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        item = OutboxItem(idempotency_key=f"reply:{case.id}:1", purpose="reply", channel=Channel.telegram,
                          next_attempt_at=Clock().at,  # due on the service's clock, whatever the real time
                          recipient=str(CHAT), case_id=case.id, contact_id=case.contact_id, body=body,
                          buttons=[{"label": "Yes please", "value": "advocate:yes"}])
        session.add(item)
        session.commit()
        assert item.id is not None
        return item.id


async def test_an_officers_reply_reaches_the_telegram_chat_once(engine, fake) -> None:  # type: ignore[no-untyped-def]
    running = await _opened_case(engine, fake)
    try:
        item_id = _reply(engine, "Hello Sam, this is Olu from the complaints team.")
        assert await running.sender.send_due() == 1
        assert await running.sender.send_due() == 0
    finally:
        await running.stop()
    calls = [c for c in fake.sent_to(CHAT) if c.params["text"].startswith("Hello Sam")]
    assert len(calls) == 1 and fake.button_labels(calls[0]) == ["Yes please"]
    with Session(engine) as session:
        item = session.get_one(OutboxItem, item_id)
        assert item.status is OutboxStatus.sent and item.provider_message_id.startswith(f"telegram:{CHAT}:")
        recorded = session.exec(select(Message).where(Message.dedupe_key == f"outbox:{item_id}")).one()
        assert recorded.direction is Direction.outbound and recorded.case_id == item.case_id


async def test_a_reply_to_someone_who_blocked_the_bot_fails_and_marks_them_unreachable(engine, fake) -> None:  # type: ignore[no-untyped-def]
    running = await _opened_case(engine, fake)
    fake.blocked.add(CHAT)
    try:
        item_id = _reply(engine, "Hello Sam.")
        assert await running.sender.send_due() == 0
        second = _reply_again(engine)
        await running.sender.send_due()
    finally:
        await running.stop()
    with Session(engine) as session:
        assert session.get_one(OutboxItem, item_id).status is OutboxStatus.failed
        assert session.get_one(OutboxItem, second).status is OutboxStatus.suppressed
        identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.address == str(CHAT))).one()
        assert session.get_one(Contact, identity.contact_id).unreachable
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "contact_unreachable")).first()


async def test_a_temporary_failure_is_retried_later_not_lost(engine, fake) -> None:  # type: ignore[no-untyped-def]
    running = await _opened_case(engine, fake)
    try:
        item_id = _reply(engine, "Hello Sam.")
        await fake.stop()  # Telegram is away
        assert await running.sender.send_due() == 0
    finally:
        await running.stop()
    with Session(engine) as session:
        item = session.get_one(OutboxItem, item_id)
        assert item.status is OutboxStatus.pending and item.attempts == 1 and item.last_error
        assert item.next_attempt_at > datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _reply_again(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        item = OutboxItem(idempotency_key=f"reply:{case.id}:2", purpose="reply", channel=Channel.telegram,
                          next_attempt_at=Clock().at,  # due on the service's clock, whatever the real time
                          recipient=str(CHAT), case_id=case.id, contact_id=case.contact_id, body="Are you there?")
        session.add(item)
        session.commit()
        assert item.id is not None
        return item.id


async def test_the_fsm_storage_keeps_state_and_data_in_the_database_across_instances(engine) -> None:  # type: ignore[no-untyped-def]
    key = StorageKey(bot_id=1, chat_id=CHAT, user_id=CHAT)
    await SQLStorage(engine).set_state(key, "story")
    await SQLStorage(engine).set_data(key, {"parts": [[1, "words"]]})
    again = SQLStorage(engine)
    assert await again.get_state(key) == "story"
    assert await again.get_data(key) == {"parts": [[1, "words"]]}
    assert await again.get_state(StorageKey(bot_id=1, chat_id=9, user_id=9)) is None


@pytest.mark.parametrize(("config", "says"), [
    ({"mode": "hook"}, "HEARD_TELEGRAM_MODE"),
    ({"mode": "webhook", "webhook_url": "http://plain.example/x", "webhook_secret": SECRET}, "HEARD_TELEGRAM_WEBHOOK_URL"),
    ({"mode": "webhook", "webhook_url": "https://heard.example/x", "webhook_secret": "short"}, "HEARD_TELEGRAM_WEBHOOK_SECRET"),
])
def test_a_wrong_telegram_setting_is_one_clear_error(config: dict, says: str) -> None:
    from bots.telegram.service import TelegramConfig

    with pytest.raises(ValueError, match=says):
        TelegramConfig(token="1:x", **config)


async def test_replies_that_never_went_are_sent_when_telegram_sends_the_update_again(engine, fake) -> None:  # type: ignore[no-untyped-def]
    """The turn is committed, then sending its replies fails (Telegram down; or the process is
    killed there): the webhook asks Telegram to send the update again, and the repeat sends
    those replies once, without taking the words in twice."""
    port = free_port()
    running = service(engine, fake, mode="webhook", webhook_url="https://heard.example/telegram/webhook",
                      webhook_secret=SECRET, webhook_port=port)
    await running.start()
    update = {"update_id": 90, "message": {"message_id": 5, "date": 1, "text": "Nobody rang me back for three weeks.",
                                           "chat": {"id": CHAT, "type": "private"},
                                           "from": {"id": CHAT, "is_bot": False, "first_name": "Sam"}}}
    url, headers = f"http://127.0.0.1:{port}/telegram/webhook", {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    try:
        async with aiohttp.ClientSession() as http:
            fake.failing_sends = 1
            async with http.post(url, json=update, headers=headers) as first:
                assert first.status == 503
            assert fake.texts_to(CHAT) == []
            async with http.post(url, json=update, headers=headers) as again:
                assert again.status == 200
            shown = fake.texts_to(CHAT)
            async with http.post(url, json=update, headers=headers) as third:  # sent: a third time sends nothing
                assert third.status == 200
    finally:
        await running.stop()
    assert shown and shown[-1] == wording.GOT_IT and fake.texts_to(CHAT) == shown
    with Session(engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == Direction.inbound)).all()
        said = session.exec(select(Message.text).where(Message.direction == Direction.outbound)).all()
    assert [m.text for m in inbound] == ["Nobody rang me back for three weeks."] and inbound[0].headers["replies_sent"]
    assert shown == [part for text in said for part in [text]]  # each reply recorded once, sent once


def _turn_done(engine) -> bool:  # type: ignore[no-untyped-def]
    """The words are in and answered in the database (the turn committed), sent or not."""
    with Session(engine) as session:
        return bool(session.exec(select(Message).where(Message.direction == Direction.outbound)).all())


def _all_sent(engine) -> bool:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == Direction.inbound)).all()
        return bool(inbound) and all(m.headers.get("replies_sent") for m in inbound)


async def _told_while_telegram_refuses(engine, fake: FakeBotAPI, text: str, refusals: int) -> TelegramService:  # type: ignore[no-untyped-def]
    """A polling bot, started, takes in `text` while Telegram refuses the next `refusals` sends."""
    running = service(engine, fake)
    await running.start()
    fake.failing_sends = refusals
    fake.text(CHAT, text)
    await fake.wait_for(lambda: _turn_done(engine))
    await asyncio.sleep(0.2)  # the failed send, and nothing after it
    assert fake.texts_to(CHAT) == [] and not _all_sent(engine)
    return running


async def test_replies_telegram_refused_while_polling_are_sent_by_the_next_sweep_once(engine, fake) -> None:  # type: ignore[no-untyped-def]
    """Long polling moves Telegram's offset on as soon as an update is stored, so Telegram never
    sends it again: replies it refused are sent by the sweep, once, and the words are taken in once."""
    running = await _told_while_telegram_refuses(engine, fake, "Nobody rang me back for three weeks.", 1)
    try:
        assert await running.desk.resend_unsent(running.bot) == 1
        shown = fake.texts_to(CHAT)
        assert await running.desk.resend_unsent(running.bot) == 0  # marked sent: nothing twice
    finally:
        await running.stop()
    assert shown and shown[-1] == wording.GOT_IT and fake.texts_to(CHAT) == shown
    assert _all_sent(engine)
    with Session(engine) as session:
        said = session.exec(select(Message.text).where(Message.direction == Direction.outbound)).all()
    assert shown == list(said)  # each reply recorded once, sent once


async def test_a_restart_sends_the_replies_a_killed_process_never_sent(engine, fake) -> None:  # type: ignore[no-untyped-def]
    """The process dies after the turn is committed and before its replies go (here: Telegram
    refuses every send until it stops); the next start sends them, without being asked."""
    first = await _told_while_telegram_refuses(engine, fake, "My pocket money has not been paid for two months.", 1000)
    await first.stop()
    fake.failing_sends = 0
    second = service(engine, fake)
    await second.start()
    try:
        await fake.wait_for(lambda: _all_sent(engine))
    finally:
        await second.stop()
    assert fake.texts_to(CHAT) and fake.texts_to(CHAT)[-1] == wording.GOT_IT
