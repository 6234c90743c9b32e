"""Logs as an operator reads them: one line per event, JSON with HEARD_LOG_FORMAT=json, carrying
the case reference and the request id — and never what people wrote, their names or addresses.

The end-to-end test runs `heard serve` as a real process (its email worker a process of its
own) and feeds one distinctive story through every channel: SMTP, the web chat, Telegram (the
fake Bot API server) and an officer's reply from the web app; then it searches everything
Heard wrote to stderr for the story's words.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from heard import logs
from tests.helpers import ROOT, free_port, heard_env, run_heard
from tests.telegram_fake import TOKEN, FakeBotAPI
from tests.web_helpers import client, make_app

SENTENCE = "Nobody came to my review and the marmalade trombone from Zanzibar was ignored again"
NAME = "Zebedee Quillfeather"
EMAIL = "zebedee.quillfeather@example.org"
PHONE = "07700 900917"
CHAT_ID = 5550001234
USERNAME = "quillfeather_zz"
REPLY = "Dear Zebedee, we are sorry about the marmalade trombone; call us on 07700 900917"
# What must never be in a log line: the story's own words, the name, the addresses, the number.
SECRETS = ["marmalade", "trombone", "zanzibar", "zebedee", "quillfeather", "900917", "07700900917", str(CHAT_ID),
           "example.org"]


# --- the formatter, on its own -------------------------------------------------------------------

@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> Iterator[logging.Logger]:
    root = logging.getLogger()
    before = (root.level, list(root.handlers), logging.getLogger("heard").level)
    yield logging.getLogger("heard.test")
    for handler in [h for h in root.handlers if getattr(h, "heard", False)]:
        root.removeHandler(handler)
    root.setLevel(before[0])
    logging.getLogger("heard").setLevel(before[2])
    logging.getLogger("some.library").setLevel(logging.NOTSET)
    logging.captureWarnings(False)


def test_an_exception_is_logged_by_type_and_frames_never_by_its_message(captured, capsys) -> None:  # type: ignore[no-untyped-def]
    logs.setup("json", "INFO")
    engine = sa.create_engine("sqlite://")
    try:  # SQLAlchemy puts a statement's parameters in its message
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM nowhere WHERE name = :name"), {"name": NAME})
    except sa.exc.SQLAlchemyError as exc:
        captured.warning("could not look (%s)", exc, extra={"case": "CSC-2026-00001"})
        captured.exception("looking failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["could not look (OperationalError (sqlite3 SQLITE_ERROR))", "looking failed"]
    assert lines[0]["case"] == "CSC-2026-00001" and lines[0]["level"] == "WARNING" and lines[0]["logger"] == "heard.test"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lines[0]["time"])
    exception = lines[1]["exception"]
    assert exception["type"] == "OperationalError (sqlite3 SQLITE_ERROR)"
    assert any(frame.startswith("tests/test_logs.py:") for frame in exception["frames"])
    assert "Quillfeather" not in json.dumps(lines) and "nowhere" not in json.dumps(lines)


def test_text_lines_are_one_line_each_with_their_context(captured, capsys) -> None:  # type: ignore[no-untyped-def]
    logs.setup("text", "INFO")
    try:
        raise ValueError(f"a value with {EMAIL} in it\nover two lines")
    except ValueError:
        captured.exception("reading failed", extra={"case": "CSC-2026-00042", "message_id": 7})
    captured.debug("not at INFO")
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert " ERROR heard.test: reading failed [case=CSC-2026-00042 message_id=7] | ValueError at tests/test_logs.py:" in err
    assert EMAIL not in err


def test_other_libraries_write_warnings_only_and_uvicorns_access_log_nothing(captured, capsys) -> None:  # type: ignore[no-untyped-def]
    logs.setup("json", "DEBUG")
    logging.getLogger("mail.log").info("%r sender: %s", ("127.0.0.1", 5000), EMAIL)  # as aiosmtpd does
    logging.getLogger("uvicorn.access").warning('127.0.0.1 - "GET /search?q=%s HTTP/1.1" 200', NAME)
    logging.getLogger("sqlalchemy.engine").info("[parameters: %s]", NAME)
    chatty = logging.getLogger("some.library")
    chatty.setLevel(logging.DEBUG)  # a library that turns itself up
    chatty.info("sending to %s", EMAIL)
    logging.getLogger("heard.test").debug("heard's own debug line")
    err = capsys.readouterr().err
    assert [json.loads(line)["event"] for line in err.splitlines()] == ["heard's own debug line"]


def test_a_web_request_keeps_a_sane_request_id_makes_one_otherwise_and_logs_its_route_not_its_path(
        captured, capsys, sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    logs.setup("json", "INFO")
    web = client(make_app(sqlite_engine))
    kept = web.get("/signin", headers={"x-request-id": "proxy-1234.abc:7"})
    made = web.get("/signin", headers={"x-request-id": f"{EMAIL} and more"})  # not an id: replaced
    lost = web.get(f"/no/such/{NAME.replace(' ', '-')}?q={EMAIL}")
    refused = web.get("/signin", headers={"host": "evil.example"})  # TrustedHost's 400 gets its line too
    assert kept.headers["x-request-id"] == "proxy-1234.abc:7"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert lost.status_code == 404 and refused.status_code == 400
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    requests = [(line["request_id"], line["route"], line["status"]) for line in lines if line["logger"] == "heard.web"]
    assert requests == [("proxy-1234.abc:7", "/signin", 200), (made.headers["x-request-id"], "/signin", 200),
                        (lost.headers["x-request-id"], "(no route)", 404), (refused.headers["x-request-id"], "(no route)", 400)]
    assert "quillfeather" not in json.dumps(lines).lower()


# --- heard serve, every channel ------------------------------------------------------------------

class FakeTelegram:
    """The fake Bot API server on a loop of its own, so a plain test can drive it."""

    def __init__(self) -> None:
        self.api = FakeBotAPI()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.api.start(free_port()), self.loop).result(10)

    def say(self, text: str) -> None:
        update = {"message": {
            "message_id": int(time.time() * 1000) % 1_000_000, "date": int(time.time()), "text": text,
            "chat": {"id": CHAT_ID, "type": "private", "first_name": "Zebedee", "last_name": "Quillfeather", "username": USERNAME},
            "from": {"id": CHAT_ID, "is_bot": False, "first_name": "Zebedee", "last_name": "Quillfeather", "username": USERNAME},
        }}
        self.loop.call_soon_threadsafe(self.api.push, update)

    def texts(self) -> list[str]:
        return list(self.api.texts_to(CHAT_ID))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _until(check, what: str, timeout: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _case_of(engine: sa.Engine, channel: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT reference FROM \"case\" WHERE channel = :c ORDER BY id"), {"c": channel}).scalar()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_story_through_every_channel_leaves_ids_in_the_logs_and_none_of_its_words(tmp_path: Path, log_format: str) -> None:
    url = f"sqlite:///{tmp_path / 'heard.db'}"
    assert run_heard("db", "upgrade", database_url=url).returncode == 0
    added = run_heard("officer", "add", "olu", "--role", "officer", "--generate-password", database_url=url)
    password = re.search(r"password: (\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    telegram = FakeTelegram()
    web_port, smtp_port = free_port(), free_port()
    web = f"http://127.0.0.1:{web_port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "heard", "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=heard_env(database_url=url, web_port=str(web_port), smtp_port=str(smtp_port), log_format=log_format,
                      telegram_token=TOKEN, telegram_api_base=telegram.api.url, web_secure_cookies="false",
                      chat_pause_seconds="3600"),
    )
    engine = sa.create_engine(url)
    try:
        _until(lambda: _answers(f"{web}/healthz"), "heard serve to start")

        # Email: real SMTP into the intake; the worker process reads it into a case.
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = f"{NAME} <{EMAIL}>", "complaints@heard.localhost", f"{NAME}: trombone"
        mail.set_content(f"{SENTENCE}.\nPlease ring me on {PHONE}.\n{NAME}\n")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            smtp.send_message(mail)
        email_case = _until(lambda: _case_of(engine, "email"), "the email's case")

        # The web chat, as a phone's browser posts it.
        with httpx.Client(base_url=web, headers={"origin": web, "accept": "application/json"}, timeout=30) as chat:
            for form in ({"text": f"I am {NAME}, {EMAIL}, {PHONE}"}, {"text": SENTENCE}, {"button": "done"}):
                assert chat.post("/chat", data={**form, "once": str(time.monotonic_ns())}).status_code < 400
        webchat_case = _until(lambda: _case_of(engine, "webchat"), "the web chat's case")

        # Telegram, through aiogram and the fake Bot API.
        telegram.say(SENTENCE)
        telegram.say(f"my number is {PHONE}")
        telegram.say("that's everything")
        telegram_case = _until(lambda: _case_of(engine, "telegram"), "the Telegram chat's case")
        _until(lambda: any(telegram_case in t for t in telegram.texts()), "the reference sent on Telegram")

        # An officer replies on the Telegram case from the web app, and searches for the name.
        with httpx.Client(base_url=web, headers={"origin": web}, timeout=30, follow_redirects=True) as officer:
            page = officer.get("/signin").text
            officer.post("/signin", data={"name": "olu", "password": password, "csrf_token": _csrf(page), "next": "/"})
            case_page = officer.get(f"/cases/{telegram_case}").text
            preview = officer.post(f"/cases/{telegram_case}/reply", data={
                "body": REPLY, "once": "r1", "csrf_token": _csrf(case_page)}).text
            send = re.search(r'action="(/cases/[^"]+/reply/\d+/send)"', preview).group(1)  # type: ignore[union-attr]
            assert officer.post(send, data={"csrf_token": _csrf(preview)}).status_code == 200
            searched = officer.get("/search", params={"q": "Quillfeather"}, headers={"x-request-id": "officer-search-1"})
            assert searched.headers["x-request-id"] == "officer-search-1" and email_case in searched.text
        _until(lambda: any("marmalade trombone" in t for t in telegram.texts()), "the officer's reply on Telegram")
        time.sleep(1)  # the delivery's own log line
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        telegram.close()
        engine.dispose()
    assert proc.returncode == 0, err

    lowered = (out + err).lower()
    leaked = [word for word in SECRETS if word in lowered]
    assert not leaked, f"{leaked} in the logs:\n{err}"
    for reference in (email_case, webchat_case, telegram_case):
        assert reference in err

    if log_format == "text":
        assert re.search(rf"INFO heard\.email: email message \d+ processed on case {email_case} \[case={email_case} ", err)
        return
    lines = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "event"} <= line.keys() for line in lines)

    def find(**fields: object) -> list[dict]:
        return [line for line in lines if all(line.get(k) == v for k, v in fields.items())]

    assert find(logger="heard.email", case=email_case, channel="email"), "the worker process's line for the email"
    assert find(logger="heard.chat", case=webchat_case, channel="webchat")[0]["request_id"]  # told within a web request
    telegram_turns = find(logger="heard.chat", case=telegram_case, channel="telegram")
    assert telegram_turns and all("update_id" in line for line in telegram_turns)
    sent = find(logger="heard.web", case=telegram_case, method="POST", route="/cases/{reference}/reply/{outbox_id}/send")
    assert sent and sent[0]["status"] == 303 and sent[0]["request_id"]
    assert find(logger="heard.desk", case=telegram_case, request_id=sent[0]["request_id"])
    assert find(logger="heard.outbox", case=telegram_case, channel="telegram")
    search = find(request_id="officer-search-1")
    assert [(line["route"], line["status"]) for line in search] == [("/search", 200)]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
