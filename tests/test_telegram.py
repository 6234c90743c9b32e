"""The Telegram bot end to end over real HTTP: aiogram's own session pointed at a fake Bot API
server on loopback; updates injected by long polling; the bot's calls checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bots.conversation import wording
from bots.telegram.service import TelegramConfig, TelegramService
from models import Advocacy, Attachment, AuditEvent, Case, ChannelIdentity, Contact, Message
from models.enums import AdvocacyAnswer, Direction, MessageState
from scheduler.policy import load_policy
from tests.chat_helpers import ZONE, rules
from tests.helpers import free_port
from tests.telegram_fake import TOKEN, FakeBotAPI

CHAT = 5550001


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start(free_port())
    yield api
    await api.stop()


def service(engine, fake: FakeBotAPI, clock: Clock | None = None, **config) -> TelegramService:  # type: ignore[no-untyped-def]
    settings = TelegramConfig(token=TOKEN, api_base=fake.url, polling_timeout=1, sweep_seconds=3600, outbox_seconds=3600,
                              **config)
    return TelegramService(engine, load_policy(), ZONE, settings, classify=rules, now=clock or Clock())


@pytest.fixture
async def bot(engine, fake: FakeBotAPI) -> AsyncIterator[TelegramService]:  # type: ignore[no-untyped-def]
    running = service(engine, fake)
    await running.start()
    yield running
    await running.stop()


def case_of(engine) -> Case:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        [case] = session.exec(select(Case)).all()
        return case


async def test_a_young_person_tells_their_story_and_gets_a_reference_a_date_and_an_advocate_offer(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    fake.text(CHAT, "/start")
    await fake.wait_for(lambda: len(fake.sent_to(CHAT)) >= 3)
    assert fake.texts_to(CHAT)[0].startswith(wording.GREETING) and wording.PRIVACY_SHORT in fake.texts_to(CHAT)
    assert fake.texts_to(CHAT)[0].endswith(wording.HELP_NOW)  # a calm way to get help now, under the greeting
    fake.text(CHAT, "My worker said she would call.")
    fake.text(CHAT, "Nobody rang me back for weeks.")
    await fake.wait_for(lambda: any(wording.GOT_IT == t for t in fake.texts_to(CHAT)))
    fake.press(CHAT, "done")
    await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(CHAT)))
    await fake.wait_for(lambda: any(c.method == "answerCallbackQuery" for c in fake.calls))
    case = case_of(engine)
    assert "Nobody rang me back" in case.summary
    await fake.wait_for(lambda: fake.button_labels(fake.sent_to(CHAT)[-1]) ==
                        [wording.ADVOCATE_YES, wording.ADVOCATE_NO, wording.ADVOCATE_WHAT])
    assert any(wording.hear_by(datetime(2026, 12, 7).date()) in t for t in fake.texts_to(CHAT))
    fake.press(CHAT, "advocate:yes")
    await fake.wait_for(lambda: any(t.startswith(wording.ADVOCATE_YES_REPLY) for t in fake.texts_to(CHAT)))
    with Session(engine) as session:
        [offer] = session.exec(select(Advocacy)).all()
        assert offer.answer is AdvocacyAnswer.yes
    assert len([c for c in fake.calls if c.method == "answerCallbackQuery"]) == 2


async def test_every_update_is_stored_as_received_and_a_repeat_is_handled_once(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    sent = fake.text(CHAT, "Hello", update_id=900)
    await fake.wait_for(lambda: len(fake.sent_to(CHAT)) >= 3)
    fake.text(CHAT, "Hello", update_id=900)  # Telegram delivers it again
    fake.text(CHAT, "/help", update_id=901)
    await fake.wait_for(lambda: any(t.startswith(wording.HELP) and wording.HELP_NOW in t for t in fake.texts_to(CHAT)))
    with Session(engine) as session:
        rows = session.exec(select(Message).where(Message.dedupe_key == "telegram:update:900")).all()
        assert len(rows) == 1 and rows[0].raw_json == sent and rows[0].state is MessageState.processed
    assert sum(t.startswith(wording.GREETING) for t in fake.texts_to(CHAT)) == 1


async def test_a_restart_mid_conversation_carries_on_where_it_was(engine, fake) -> None:  # type: ignore[no-untyped-def]
    first = service(engine, fake)
    await first.start()
    fake.text(CHAT, "My savings were never paid into my account.")
    await fake.wait_for(lambda: len(fake.sent_to(CHAT)) >= 1)
    await first.stop()
    second = service(engine, fake)  # a new process: nothing carried in memory
    await second.start()
    try:
        fake.text(CHAT, "It has been two years now.")
        fake.press(CHAT, "done")
        await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(CHAT)))
    finally:
        await second.stop()
    case = case_of(engine)
    assert "savings" in case.summary and "two years" in case.summary


async def test_a_group_chat_gets_a_polite_refusal_and_opens_nothing(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    fake.text(-100200, "Nobody rang me back", chat_type="supergroup")
    await fake.wait_for(lambda: wording.GROUP_REFUSAL in fake.texts_to(-100200))
    with Session(engine) as session:
        assert session.exec(select(Case)).all() == []
        [message] = session.exec(select(Message).where(Message.direction == Direction.inbound)).all()
        assert message.state is MessageState.ignored and message.raw_json


async def test_a_safeguarding_disclosure_gets_the_safety_message_first(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    fake.text(CHAT, "He hits me when I get home.")  # the very first message, before /start
    await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(CHAT)))
    said = fake.texts_to(CHAT)
    assert said[0].startswith(wording.SAFE_FIRST)  # the crisis numbers in the first reply, before the greeting
    assert "999" in said[0] and "0800 1111" in said[0] and "0808 800 5000" in said[0]
    assert any(t.startswith(wording.GREETING) for t in said[1:])
    # then what anyone gets: the reference and date, and the advocate offer
    await fake.wait_for(lambda: fake.button_labels(fake.sent_to(CHAT)[-1]) ==
                        [wording.ADVOCATE_YES, wording.ADVOCATE_NO, wording.ADVOCATE_WHAT])
    assert case_of(engine).safeguarding and case_of(engine).disclosure


async def test_a_possible_concern_does_not_end_the_story_or_alarm_the_child(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    fake.text(CHAT, "They said I can't go on the residential.")
    fake.text(CHAT, "and now I can't go and everyone else in my class is going")
    def handled() -> int:
        with Session(engine) as session:
            return len(session.exec(select(Message).where(Message.direction == Direction.inbound,
                                                          Message.state == MessageState.processed)).all())

    await fake.wait_for(lambda: handled() == 2)
    with Session(engine) as session:
        assert session.exec(select(Case)).all() == []  # the story goes on
    fake.text(CHAT, "that's everything")  # typed, not tapped
    await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(CHAT)))
    assert not any("999" in t and wording.SAFE_FIRST in t for t in fake.texts_to(CHAT))
    case = case_of(engine)
    assert case.safeguarding_level is not None and not case.disclosure and "that's everything" not in case.summary


async def test_a_sticker_first_gets_the_greeting_and_a_request_for_words(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    fake.sticker(CHAT)
    await fake.wait_for(lambda: wording.ASK_WORDS in fake.texts_to(CHAT))
    assert fake.texts_to(CHAT)[0].startswith(wording.GREETING)
    fake.text(CHAT, "😭😭")
    await fake.wait_for(lambda: fake.texts_to(CHAT).count(wording.ASK_WORDS) == 2)
    with Session(engine) as session:
        assert session.exec(select(Case)).all() == []  # no reference until there are words
    assert not any("CSC-" in t for t in fake.texts_to(CHAT))


async def test_an_edited_message_updates_the_story(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    original = fake.text(CHAT, "My social worker was rude to me.")
    await fake.wait_for(lambda: wording.GOT_IT in fake.texts_to(CHAT))
    edit = dict(original["message"], text="My social worker shouted at me.", edit_date=1)
    fake.push({"edited_message": edit})
    await fake.wait_for(lambda: _processed(engine) == 2)
    fake.press(CHAT, "done")
    await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(CHAT)))
    assert "shouted" in case_of(engine).summary and "rude" not in case_of(engine).summary


async def test_a_photo_and_a_voice_note_are_kept_and_the_sender_told(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    fake.files["photo-1"] = b"\x89PNG fake photo"
    fake.files["voice-1"] = b"OggS fake voice"
    base = {"date": 1, "chat": {"id": CHAT, "type": "private"}, "from": {"id": CHAT, "is_bot": False, "first_name": "Sam"}}
    fake.push({"message": {**base, "message_id": 50, "caption": "The letter they sent",
                           "photo": [{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90, "file_size": 16}]}})
    await fake.wait_for(lambda: wording.media_kept("photo") in fake.texts_to(CHAT))
    fake.push({"message": {**base, "message_id": 51, "voice": {"file_id": "voice-1", "file_unique_id": "v1", "duration": 3}}})
    await fake.wait_for(lambda: wording.media_kept("voice note") in fake.texts_to(CHAT))
    with Session(engine) as session:
        kept = {a.filename: a.content for a in session.exec(select(Attachment))}
    assert kept == {"photo.jpg": b"\x89PNG fake photo", "voice.ogg": b"OggS fake voice"}


async def test_a_person_who_blocks_the_bot_is_marked_unreachable_and_officers_told(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    fake.text(CHAT, "Nobody rang me back.")
    fake.press(CHAT, "done")
    await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(CHAT)))
    fake.blocked.add(CHAT)
    fake.text(CHAT, "One more thing.")
    await fake.wait_for(lambda: _unreachable(engine))
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "contact_unreachable")).one()
        assert event.case_id == case_of(engine).id


async def test_a_pause_closes_the_story_and_the_bot_says_so(engine, fake) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    running = service(engine, fake, clock, pause_seconds=60)
    await running.start()
    try:
        fake.text(CHAT, "Nobody rang me back about my pathway plan.")
        await fake.wait_for(lambda: wording.GOT_IT in fake.texts_to(CHAT))
        assert await running.sweep_once() == 0
        clock.at += timedelta(seconds=61)
        assert await running.sweep_once() == 1
    finally:
        await running.stop()
    assert any(case_of(engine).reference in t for t in fake.texts_to(CHAT))


async def test_a_stranger_naming_someone_elses_reference_gets_their_own_case_and_learns_nothing_of_it(engine, fake, bot) -> None:  # type: ignore[no-untyped-def]
    stranger = 5550002
    fake.text(CHAT, "Nobody rang me back.")
    fake.press(CHAT, "done")
    await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(CHAT)))
    named = case_of(engine)
    fake.text(stranger, f"Nobody rang me back about {named.reference} either.")
    fake.text(stranger, "that's everything")
    await fake.wait_for(lambda: any("CSC-2026-" in t for t in fake.texts_to(stranger)))
    fake.text(stranger, f"And {named.reference} again.")  # mid-conversation: stays on their own case
    fake.text(stranger, "/status")
    await fake.wait_for(lambda: any(t.startswith(wording.status_reference("")[:-1]) for t in fake.texts_to(stranger)))
    with Session(engine) as session:
        mine = session.exec(select(Case).where(Case.id != named.id)).one()
        on_named = session.exec(select(Message).where(Message.case_id == named.id, Message.direction == Direction.inbound)).all()
        on_mine = session.exec(select(Message.text).where(Message.case_id == mine.id, Message.direction == Direction.inbound).order_by(Message.id)).all()
    assert mine.names_case_id == named.id and len(on_named) == 1 and len(on_mine) == 2 and on_mine[-1].startswith("And CSC-")
    said = "\n".join(fake.texts_to(stranger))
    assert mine.reference in said and named.reference not in said


def _processed(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return len(session.exec(select(Message).where(Message.state == MessageState.processed,
                                                      Message.direction == Direction.inbound)).all())


def _unreachable(engine) -> bool:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.address == str(CHAT))).one()
        return session.get_one(Contact, identity.contact_id).unreachable
