"""/privacy on Telegram and the web chat's privacy page say, in plain words, what is kept, for how
long (the policy's retention period, 6 years after the case closes by default) and how to ask for it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from bots.conversation import wording
from bots.conversation.dialogue import Conversation
from bots.telegram.service import TelegramConfig, TelegramService
from bots.webchat import webchat_router
from scheduler.clock import Clock as PolicyClock
from scheduler.policy import RetentionPolicy, load_policy
from tests.chat_helpers import ZONE, rules
from tests.telegram_fake import TOKEN, FakeBotAPI
from tests.test_telegram import CHAT, Clock, fake  # noqa: F401  (the fake Bot API server fixture)


def kept_for(years: int):  # type: ignore[no-untyped-def]
    """The built-in policy with a `[retention]` section keeping closed cases `years` years."""
    return load_policy().model_copy(update={"retention": RetentionPolicy(case_years=years)})


def test_the_period_is_the_policys_with_6_years_as_the_default() -> None:
    assert load_policy().retention.case_years == 6
    assert Conversation(PolicyClock(kept_for(8)), ZONE).privacy_text == wording.privacy(8)


def test_the_words_say_what_is_kept_for_how_long_and_how_to_ask() -> None:
    text = wording.privacy(8)
    assert "your messages, your name, and how to reach you" in text
    assert "8 years after we finish looking" in text and "ask to see everything we keep about you" in text
    assert "within one month" in text and "1 year after" in wording.privacy(1)


async def test_telegram_privacy_gives_the_policys_period(engine, fake: FakeBotAPI) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    bot = TelegramService(engine, kept_for(8), ZONE, TelegramConfig(token=TOKEN, api_base=fake.url, polling_timeout=1,
                                                                    sweep_seconds=3600, outbox_seconds=3600),
                          classify=rules, now=Clock())
    await bot.start()
    try:
        fake.text(CHAT, "/privacy")
        await fake.wait_for(lambda: any("years after" in t for t in fake.texts_to(CHAT)))
    finally:
        await bot.stop()
    (answer,) = [t for t in fake.texts_to(CHAT) if "years after" in t]
    assert answer == wording.privacy(8)


def _chat(engine, policy) -> TestClient:  # type: ignore[no-untyped-def]
    app = FastAPI()
    app.include_router(webchat_router(engine, policy, zone=ZONE, classify=rules, secure_cookies=False))
    return TestClient(app)


def test_the_web_chat_links_a_privacy_page_with_the_same_words(engine) -> None:  # type: ignore[no-untyped-def]
    client = _chat(engine, load_policy())
    assert 'href="/chat/privacy"' in client.get("/chat").text
    page = client.get("/chat/privacy")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for paragraph in wording.privacy(6).split("\n"):
        assert f"<p>{escape(paragraph)}</p>" in page.text
    assert "6 years after" in page.text and "<script" not in page.text


def test_the_web_chat_privacy_button_gives_the_policys_period(engine) -> None:  # type: ignore[no-untyped-def]
    client = _chat(engine, kept_for(4))
    response = client.post("/chat", data={"button": "command:privacy", "once": "p1", "after": 0},
                           headers={"accept": "application/json"})
    assert response.status_code == 200
    assert any(m["text"] == wording.privacy(4) for m in response.json()["messages"])
    assert "4 years after" in client.get("/chat/privacy").text
