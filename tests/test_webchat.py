"""The web chat router on a bare FastAPI app: the same conversation, a session in a cookie,
officers' replies shown, raw posts kept, double posts and cross-site posts refused."""

from __future__ import annotations

import re
from markupsafe import escape
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bots.conversation import wording
from bots.webchat import webchat_router
from bots.webchat.router import COOKIE, SECURE_COOKIE, address_of
from bots.webchat.service import WebChatService
from models import Advocacy, Case, ChannelIdentity, Message, OutboxItem
from models.enums import AdvocacyAnswer, CaseStatus, Channel, Direction, OutboxStatus
from scheduler.policy import load_policy
from tests.chat_helpers import ZONE, rules


class Now:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def client(engine, now) -> TestClient:  # type: ignore[no-untyped-def]
    app = FastAPI()
    app.include_router(webchat_router(engine, load_policy(), zone=ZONE, classify=rules, pause_seconds=60,
                                      secure_cookies=False, now=now))
    return TestClient(app)


def say(client: TestClient, text: str = "", button: str = "", once: str | None = None, after: int = 0) -> list[dict]:
    response = client.post("/chat", data={"text": text, "button": button, "once": once or f"n{say.n}", "after": after},
                           headers={"accept": "application/json"})
    say.n += 1
    assert response.status_code == 200, response.text
    return response.json()["messages"]


say.n = 0  # type: ignore[attr-defined]


def texts(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


def test_the_page_greets_and_says_what_happens_to_what_they_write_without_storing_anything(engine, client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/chat")
    assert page.status_code == 200
    assert escape(wording.GREETING) in page.text and escape(wording.PRIVACY_SHORT) in page.text
    assert "0800 1111" in page.text
    assert COOKIE not in page.cookies
    with Session(engine) as session:
        assert session.exec(select(Message)).all() == []


def test_the_page_loads_nothing_from_anywhere_else(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/chat")
    sources = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert sources and all(s.startswith("/chat") for s in sources), sources
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/chat/chat.css").status_code == 200 and client.get("/chat/chat.js").status_code == 200


def test_a_young_person_tells_their_story_and_gets_a_reference_a_date_and_the_advocate_offer(engine, client) -> None:  # type: ignore[no-untyped-def]
    shown = say(client, "Nobody rang me back for three weeks.")
    assert wording.GREETING in texts(shown) and wording.GOT_IT in texts(shown)
    assert shown[-1]["buttons"] == [{"label": wording.DONE, "value": "done"}]
    shown = say(client, button="done", after=shown[-1]["id"])
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    assert case.reference in texts(shown) and wording.hear_by(datetime(2026, 12, 7).date()) in texts(shown)
    assert [b["label"] for b in shown[-1]["buttons"]] == [wording.ADVOCATE_YES, wording.ADVOCATE_NO, wording.ADVOCATE_WHAT]
    shown = say(client, button="advocate:yes", after=shown[-1]["id"])
    assert shown[0] == {**shown[0], "from": "you", "text": wording.ADVOCATE_YES}
    assert wording.ADVOCATE_YES_REPLY in texts(shown)
    with Session(engine) as session:
        assert session.exec(select(Advocacy)).one().answer is AdvocacyAnswer.yes


def test_emoji_first_gets_the_greeting_and_a_request_for_words_and_an_old_button_says_where_we_are(engine, client) -> None:  # type: ignore[no-untyped-def]
    shown = say(client, "😡😡")
    assert wording.GREETING in texts(shown) and wording.HELP_NOW in texts(shown) and wording.ASK_WORDS in texts(shown)
    with Session(engine) as session:
        assert session.exec(select(Case)).all() == []
    shown = say(client, "Nobody rang me back.", after=shown[-1]["id"])
    shown = say(client, "that's it", after=shown[-1]["id"])  # typed words close the story
    assert "CSC-2026-" in texts(shown)
    shown = say(client, button="advocate:no", after=shown[-1]["id"])
    shown = say(client, button="kind:quick", after=shown[-1]["id"])  # a button from long ago
    heard = [m["text"] for m in shown if m["from"] == "heard"]
    assert heard[0] == wording.UNKNOWN_BUTTON and len(heard) > 1 and "CSC-2026-" in heard[1]


def test_another_language_unsure_kind_advocate_questions_and_one_date_over_http(engine, client) -> None:  # type: ignore[no-untyped-def]
    shown = say(client, "Dzień dobry, nikt nie oddzwania w sprawie kontaktu z moim bratem od trzech tygodni.")
    shown = say(client, "done", after=shown[-1]["id"])
    said = texts(shown)
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    assert case.interpreter_needed == "pl" and wording.OWN_LANGUAGE in said  # 9: a case, and an interpreter
    assert case.kind is not None and case.kind.value == "complaint"  # 5: the complaint clock while we ask
    assert "Monday 7 December 2026" in said and wording.ASK_KIND in said
    assert [b["label"] for b in shown[-1]["buttons"]] == [wording.KIND_THANKS, wording.KIND_QUICK, wording.KIND_COMPLAINT]
    shown = say(client, button="kind:complaint", after=shown[-1]["id"])
    shown = say(client, button="role:young", after=shown[-1]["id"])
    shown = say(client, button="advocate:what", after=shown[-1]["id"])
    heard = [m["text"] for m in shown if m["from"] == "heard"]
    assert heard[0].startswith(wording.ADVOCATE_WHAT_IS) and "December" not in " ".join(heard)  # 11
    shown = say(client, "can I have an advocate please", after=shown[-1]["id"])  # 7: typed, a yes
    said = texts([m for m in shown if m["from"] == "heard"])
    assert said.startswith(wording.ADVOCATE_YES_REPLY) and said.count("December 2026") == 1  # 10: one date
    assert "Monday 21 December 2026" in said
    with Session(engine) as session:
        assert session.exec(select(Advocacy)).one().answer is AdvocacyAnswer.yes


def test_the_session_lives_in_a_cookie_and_the_database_never_holds_it(engine, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/chat", data={"text": "Hello there, my savings are missing", "once": "a1"})
    assert response.status_code == 200  # followed the redirect back to the page
    token = client.cookies.get(COOKIE)
    assert token and "Hello there" in response.text
    cookie = next(h for h in response.history[0].headers.get_list("set-cookie") if h.startswith(COOKIE))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    with Session(engine) as session:
        [identity] = session.exec(select(ChannelIdentity)).all()
        assert identity.address == address_of(token) and token not in identity.address
        inbound = session.exec(select(Message).where(Message.direction == Direction.inbound)).one()
        assert inbound.raw_json == {"text": "Hello there, my savings are missing", "button": "", "once": "a1"}
    assert "Hello there" not in TestClient(client.app).get("/chat").text  # another browser sees nothing


def test_over_https_the_chat_cookie_is_host_only_and_an_old_one_carries_the_chat_across(engine, now) -> None:  # type: ignore[no-untyped-def]
    """`__Host-`: a sibling subdomain cannot plant a token and then read what a child writes."""
    app = FastAPI()
    app.include_router(webchat_router(engine, load_policy(), zone=ZONE, classify=rules, secure_cookies=True, now=now))
    child = TestClient(app, base_url="https://heard.test")
    child.post("/chat", data={"text": "My pocket money has not been paid", "once": "s1"})
    first = TestClient(app, base_url="https://heard.test").post(
        "/chat", data={"text": "Nobody rang me back about contact", "once": "s2"}, follow_redirects=False)
    set_cookie = first.headers["set-cookie"]
    assert set_cookie.startswith(f"{SECURE_COOKIE}=") and "Path=/;" in set_cookie and "Domain" not in set_cookie
    assert "secure" in set_cookie.lower() and "httponly" in set_cookie.lower()
    token = child.cookies.get(SECURE_COOKIE)
    assert token and "My pocket money" in child.get("/chat").text

    # someone who started before the name changed: same chat, cookie moved to the new name
    before = TestClient(app, base_url="https://heard.test", cookies={COOKIE: token})
    page = before.get("/chat")
    assert "My pocket money" in page.text
    moved = page.headers.get_list("set-cookie")
    assert any(h.startswith(f"{SECURE_COOKIE}={token}") for h in moved)
    assert any(h.startswith(f'{COOKIE}=""') or h.startswith(f"{COOKIE}=;") for h in moved)


def test_the_same_post_sent_twice_is_taken_once(engine, client) -> None:  # type: ignore[no-untyped-def]
    say(client, "My taxi to contact was late again.", once="same")
    say(client, "My taxi to contact was late again.", once="same")
    with Session(engine) as session:
        assert len(session.exec(select(Message).where(Message.direction == Direction.inbound)).all()) == 1


def test_a_first_post_sent_again_without_its_cookie_stays_one_chat(engine, client) -> None:  # type: ignore[no-untyped-def]
    """The answer to the first post never arrived (a web process restarted), so the browser has
    no cookie yet when it sends the same form again: still one chat, one message, one greeting."""
    first = client.post("/chat", data={"text": "Nobody rang me back.", "once": "first-form"}, headers={"accept": "application/json"})
    client.cookies.clear()
    again = client.post("/chat", data={"text": "Nobody rang me back.", "once": "first-form"}, headers={"accept": "application/json"})
    assert first.status_code == again.status_code == 200
    assert first.cookies[COOKIE] == again.cookies[COOKIE]
    assert [m["text"] for m in again.json()["messages"]] == [m["text"] for m in first.json()["messages"]]
    client.cookies.clear()
    other = client.post("/chat", data={"text": "Nobody rang me back.", "once": "another-form"}, headers={"accept": "application/json"})
    assert other.cookies[COOKIE] != first.cookies[COOKIE]  # another browser's first post: a chat of its own
    with Session(engine) as session:
        assert len(session.exec(select(ChannelIdentity)).all()) == 2
        inbound = session.exec(select(Message).where(Message.direction == Direction.inbound)).all()
        assert sorted(m.raw_json["once"] for m in inbound) == ["another-form", "first-form"]
        said = session.exec(select(Message.text).where(Message.direction == Direction.outbound)).all()
        assert sum(text.startswith(wording.GREETING) for text in said) == 2


def test_a_first_post_sent_again_to_another_web_process_stays_one_chat_and_the_database_cannot_make_its_cookie(engine, now) -> None:  # type: ignore[no-untyped-def]
    """Two web processes share the app's secret, so a repeat landing on the other one is the same
    chat; the `once` kept with the post is not enough to make the cookie without that secret."""
    def web_process(secret: bytes) -> TestClient:
        app = FastAPI()
        app.include_router(webchat_router(engine, load_policy(), zone=ZONE, classify=rules, secure_cookies=False,
                                          now=now, secret=secret))
        return TestClient(app)

    form = {"text": "My savings are missing.", "once": "form-1"}
    first = web_process(b"shared-secret").post("/chat", data=form, headers={"accept": "application/json"})
    again = web_process(b"shared-secret").post("/chat", data=form, headers={"accept": "application/json"})
    assert first.cookies[COOKIE] == again.cookies[COOKIE]
    stranger = web_process(b"not-the-secret").post("/chat", data=form, headers={"accept": "application/json"})
    assert stranger.cookies[COOKIE] != first.cookies[COOKIE]
    with Session(engine) as session:  # the stranger's post is a chat of its own, not the child's
        assert len(session.exec(select(ChannelIdentity)).all()) == 2


def test_a_post_from_another_site_is_refused(engine, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/chat", data={"text": "hi", "once": "x"}, headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    with Session(engine) as session:
        assert session.exec(select(Message)).all() == []


def test_words_are_shown_as_words_never_as_markup(client) -> None:  # type: ignore[no-untyped-def]
    say(client, "<script>alert(1)</script> nobody listens")
    page = client.get("/chat").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_officers_reply_appears_in_the_web_chat(engine, client, now) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    shown = say(client, "Nobody rang me back.")
    shown = say(client, button="done", after=shown[-1]["id"])
    last = shown[-1]["id"]
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        identity = session.exec(select(ChannelIdentity)).one()
        session.add(OutboxItem(idempotency_key="reply:1:x", purpose="reply", channel=Channel.webchat,
                               recipient=identity.address, case_id=case.id, contact_id=case.contact_id,
                               body="Hi, I'm Olu from the complaints team. I'll ring you on Tuesday.", next_attempt_at=now.at))
        session.commit()
    service = WebChatService(engine, load_policy(), ZONE, now=now)
    assert asyncio.run(service.sender.send_due()) == 1
    new = client.get(f"/chat/messages?after={last}").json()["messages"]
    assert [(m["text"], m["officer"]) for m in new] == [("Hi, I'm Olu from the complaints team. I'll ring you on Tuesday.", True)]
    assert "Complaints team:" in client.get("/chat").text
    with Session(engine) as session:
        assert session.exec(select(OutboxItem)).one().status is OutboxStatus.sent


def test_a_pause_closes_the_story_and_the_chat_shows_the_answer(engine, client, now) -> None:  # type: ignore[no-untyped-def]
    shown = say(client, "Nobody rang me back.")
    assert client.get(f"/chat/messages?after={shown[-1]['id']}").json()["messages"] == []
    now.at += timedelta(seconds=61)
    new = client.get(f"/chat/messages?after={shown[-1]['id']}").json()["messages"]
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    assert case.reference in texts(new)


def test_the_background_sweep_closes_paused_web_chats_too(engine, client, now) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    say(client, "Nobody rang me back.")
    service = WebChatService(engine, load_policy(), ZONE, pause_seconds=60, now=now)
    assert asyncio.run(service.sweep_once()) == 0
    now.at += timedelta(seconds=61)
    assert asyncio.run(service.sweep_once()) == 1
    with Session(engine) as session:
        assert session.exec(select(Case)).one()


def test_status_and_help_work_from_the_links(client) -> None:  # type: ignore[no-untyped-def]
    say(client, "Nobody rang me back.")
    say(client, button="done")
    shown = say(client, button="command:status")
    assert wording.STAGE_WORDS["stage_1"] in texts(shown)
    assert wording.HELP_WEB in texts(say(client, button="command:help"))


def test_a_message_too_long_is_refused_clearly_and_nothing_is_cut_short(engine, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/chat", data={"text": "x" * 20_001, "once": "long"}, headers={"accept": "application/json"})
    assert response.status_code == 413 and "too long" in response.json()["detail"]
    say(client, "y" * 20_000)
    with Session(engine) as session:
        [kept] = session.exec(select(Message).where(Message.direction == Direction.inbound)).all()
        assert kept.text == "y" * 20_000


def test_the_links_show_in_the_chat_as_the_words_on_them(client) -> None:  # type: ignore[no-untyped-def]
    shown = say(client, button="command:status")
    assert [m["text"] for m in shown if m["from"] == "you"] == ["Where are we?"]


def heard(messages: list[dict]) -> str:
    """What Heard said (not the person's own words echoed back)."""
    return "\n".join(m["text"] for m in messages if m["from"] == "heard")


def test_a_stranger_naming_someone_elses_reference_gets_their_own_case_and_learns_nothing_of_it(engine, client) -> None:  # type: ignore[no-untyped-def]
    shown = say(client, "Nobody rang me back for three weeks.")
    say(client, button="done", after=shown[-1]["id"])
    with Session(engine, expire_on_commit=False) as session:
        theirs = session.exec(select(Case)).one()
        theirs.status = CaseStatus.responded  # a status a stranger must not see
        session.commit()
    stranger = TestClient(client.app)  # another browser: another chat session
    shown = say(stranger, f"What is happening with {theirs.reference}? Nobody rang me back.")
    shown = say(stranger, button="done", after=shown[-1]["id"])
    with Session(engine) as session:
        mine = session.exec(select(Case).where(Case.id != theirs.id)).one()
        on_theirs = session.exec(select(Message).where(Message.case_id == theirs.id, Message.direction == Direction.inbound)).all()
    assert mine.names_case_id == theirs.id and len(on_theirs) == 1
    assert mine.reference in heard(shown) and theirs.reference not in heard(shown)
    status = heard(say(stranger, button="command:status"))
    assert mine.reference in status and theirs.reference not in status and wording.RESPONDED_WORDS not in status


def test_the_same_chat_naming_its_own_reference_adds_to_its_case(engine, client) -> None:  # type: ignore[no-untyped-def]
    shown = say(client, "Nobody rang me back for three weeks.")
    say(client, button="done", after=shown[-1]["id"])
    say(client, button="advocate:no")
    with Session(engine) as session:
        reference = session.exec(select(Case)).one().reference
    say(client, button="new")
    say(client, f"About {reference}: still nobody has rung.")
    shown = say(client, button="done")
    assert wording.added(reference) in heard(shown)
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
