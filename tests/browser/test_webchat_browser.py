"""The web chat in real Chromium (Playwright), served by uvicorn on loopback, on a phone-sized
screen: telling a story, the buttons, an officer's reply arriving live, no JavaScript, and
no serious accessibility problems (axe-core)."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bots.conversation import wording
from bots.webchat import webchat_router
from bots.webchat.service import WebChatService
from models import Case, ChannelIdentity, OutboxItem
from models.enums import Channel
from scheduler.policy import load_policy
from tests.chat_helpers import ZONE, rules
from tests.browser.conftest import serving
from tests.helpers import ROOT

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class ChatSite:
    url: str
    engine: Engine


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[ChatSite]:
    app = FastAPI()
    app.include_router(webchat_router(sqlite_engine, load_policy(), zone=ZONE, classify=rules, secure_cookies=False))
    with serving(app) as base:
        yield ChatSite(base, sqlite_engine)


@pytest.fixture
def phone(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def test_a_young_person_tells_their_story_on_a_phone_and_gets_a_reference(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{site.url}/chat")
    assert phone.get_by_text(wording.GREETING).is_visible()
    phone.get_by_label("Your message").fill("Nobody rang me back for three weeks.")
    phone.get_by_role("button", name="Send").click()
    phone.get_by_text(wording.GOT_IT).wait_for()
    assert phone.locator(".msg.you").last.inner_text().endswith("Nobody rang me back for three weeks.")
    phone.get_by_role("button", name=wording.DONE).click()
    phone.get_by_text(re.compile(r"Your reference is CSC-2026-\d{5}")).wait_for()
    phone.get_by_role("button", name=wording.ADVOCATE_WHAT).click()
    phone.get_by_text(wording.ADVOCATE_WHAT_IS, exact=False).wait_for()
    phone.get_by_role("button", name=wording.ADVOCATE_YES).click()
    phone.get_by_text(wording.ADVOCATE_YES_REPLY).wait_for()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    phone.reload()  # the conversation is still there after a reload (the cookie)
    assert phone.get_by_text(wording.ADVOCATE_YES_REPLY).is_visible()


def test_an_officers_reply_appears_without_reloading(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{site.url}/chat")
    phone.get_by_label("Your message").fill("Nobody rang me back.")
    phone.get_by_role("button", name="Send").click()
    phone.get_by_role("button", name=wording.DONE).click()
    phone.get_by_text(re.compile(r"Your reference is CSC-")).wait_for()
    with Session(site.engine) as session:
        case = session.exec(select(Case)).one()
        identity = session.exec(select(ChannelIdentity)).one()
        session.add(OutboxItem(idempotency_key="reply:browser", purpose="reply", channel=Channel.webchat,
                               recipient=identity.address, case_id=case.id, contact_id=case.contact_id,
                               body="Hello, this is Olu. I will ring you on Tuesday."))
        session.commit()
    sender = WebChatService(site.engine, load_policy(), ZONE).sender
    with ThreadPoolExecutor(1) as pool:  # Playwright's own loop runs on this thread
        assert pool.submit(asyncio.run, sender.send_due()).result() == 1
    phone.get_by_text("Hello, this is Olu. I will ring you on Tuesday.").wait_for(timeout=10_000)
    assert phone.locator(".msg.officer").count() == 1


def test_it_works_without_javascript(browser, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        tab = context.new_page()
        tab.goto(f"{site.url}/chat")
        tab.get_by_label("Your message").fill("The taxi to contact was late again.")
        tab.get_by_role("button", name="Send").click()
        tab.get_by_text(wording.GOT_IT).wait_for()
        tab.get_by_role("button", name=wording.DONE).click()
        tab.get_by_text(re.compile(r"Your reference is CSC-")).wait_for()
    finally:
        context.close()


def test_the_chat_has_no_serious_accessibility_problems(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in {ROOT}")
    phone.goto(f"{site.url}/chat")
    phone.get_by_label("Your message").fill("Nobody rang me back.")
    phone.get_by_role("button", name="Send").click()
    phone.get_by_text(wording.GOT_IT).wait_for()
    phone.evaluate(AXE.read_text(encoding="utf-8"))
    result = phone.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["help"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
