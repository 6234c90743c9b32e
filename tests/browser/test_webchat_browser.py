"""The web chat in real Chromium (Playwright), served by uvicorn on loopback, on a phone-sized
screen (390 × 844): telling a story, the buttons, an officer's reply arriving live, no
JavaScript, the layout a phone needs, and no serious accessibility problems (axe-core).
Screenshots of each phone test are kept in var/test-artifacts/webchat/.

Each test waits for what a person would wait for (the reply to what they sent) before its
next step: a button clicked while the one before is still being replaced can vanish
under the click on a busy machine."""

from __future__ import annotations

import asyncio
import contextlib
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

PHONE = {"width": 390, "height": 844}
SHOTS = ROOT / "var" / "test-artifacts" / "webchat"
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
def phone(browser, request):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(Exception):  # a screenshot is a record, never a failure of its own
        tab.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    context.close()


def tell(tab, text: str, expect: str | re.Pattern[str] = wording.GOT_IT) -> None:  # type: ignore[no-untyped-def]
    """Type and send, then wait for Heard's answer, as a person would."""
    tab.get_by_label("Your message").fill(text)
    tab.get_by_role("button", name="Send").click()
    tab.get_by_text(expect).last.wait_for()


def in_view(tab, locator) -> bool:  # type: ignore[no-untyped-def]
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 0.5


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
    tell(phone, "Nobody rang me back.")  # the "Thank you…" reply, and its fresh button, before the next tap
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


def test_the_message_box_is_on_the_first_screen_of_a_phone(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{site.url}/chat")
    say = phone.get_by_label("Your message")
    assert in_view(phone, say) and in_view(phone, phone.get_by_role("button", name="Send"))
    assert phone.evaluate("window.scrollY") == 0
    assert phone.evaluate("document.documentElement.scrollHeight") <= PHONE["height"] + 1  # the page itself never scrolls


def test_bubbles_hold_their_words_and_nothing_else(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{site.url}/chat")
    tell(phone, "Nobody rang me back.")
    for bubble in phone.locator(".msg").all():
        text = bubble.inner_text()
        assert not re.search(r"\n\s*\n", text), f"a blank line in {text!r}"
        assert not re.match(r"\s", text) and all(not line.startswith((" ", "\t")) for line in text.split("\n")), repr(text)
        # no empty band: the bubble is its label and its words, plus the padding
        inner = bubble.evaluate("b => b.querySelector('.who').offsetHeight + b.querySelector('.text').offsetHeight")
        assert bubble.evaluate("b => b.clientHeight") - inner <= 24


def test_coming_back_opens_at_the_latest_message(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{site.url}/chat")
    for n in range(1, 7):
        tell(phone, f"Part {n} of my story: nobody rang me back about contact with my brother, again and again.",
             wording.GOT_IT if n == 1 else re.compile(f"Part {n} of my story"))
    phone.get_by_role("button", name=wording.DONE).click()
    phone.get_by_text(re.compile(r"Your reference is CSC-")).wait_for()
    phone.goto(f"{site.url}/chat")  # coming back later
    assert in_view(phone, phone.locator(".msg").last)
    assert not in_view(phone, phone.locator(".msg").first)
    assert in_view(phone, phone.get_by_label("Your message"))


def test_a_reference_never_breaks_across_lines(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{site.url}/chat")
    tell(phone, "Nobody rang me back.")
    phone.get_by_role("button", name=wording.DONE).click()
    phone.get_by_text(re.compile(r"Your reference is CSC-")).wait_for()
    for where in ("live", "reloaded"):
        refs = phone.locator(".ref")
        assert refs.count() >= 1, where
        for ref in refs.all():
            assert re.fullmatch(r"CSC-\d{4}-\d{5}", ref.inner_text())
            assert ref.evaluate("r => r.getClientRects().length") == 1, f"{where}: the reference breaks"
        phone.reload()


def test_a_disclosure_shows_the_crisis_numbers_first_on_a_phone(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{site.url}/chat")
    tell(phone, "He hits me when mum is out.", wording.SAFE_FIRST)
    said = [m.inner_text() for m in phone.locator(".msg.heard").all()]
    crisis = next(i for i, text in enumerate(said) if wording.SAFE_FIRST in text)
    reference = next(i for i, text in enumerate(said) if "Your reference is CSC-" in text)
    assert crisis < reference and "999" in said[crisis]


def test_a_post_whose_answer_is_lost_is_sent_again_and_taken_once(phone, site: ChatSite) -> None:  # type: ignore[no-untyped-def]
    """The first send reaches Heard but its answer never comes back (a web process killed, a
    dropped connection): the page sends the same form again without its script, and Heard
    keeps the words once, in one chat."""
    from models import Message
    from models.enums import Direction

    lost = []

    def answer_lost(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "POST" and not lost:
            route.fetch()  # Heard gets it and answers; the page never sees the answer
            lost.append(route.request.post_data)
            route.abort("connectionreset")
        else:
            route.continue_()

    phone.goto(f"{site.url}/chat")
    phone.route(re.compile(r".*/chat$"), answer_lost)
    tell(phone, "Nobody rang me back for three weeks.")
    assert lost, "the first send was not the one whose answer was lost"
    with Session(site.engine) as session:
        words = session.exec(select(Message.text).where(Message.direction == Direction.inbound)).all()
        assert words == ["Nobody rang me back for three weeks."]
        assert len(session.exec(select(ChannelIdentity)).all()) == 1
