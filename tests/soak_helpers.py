"""The soak test's parts: `heard serve --only …` processes that can be killed and started
again, a mail sink standing in for the council's relay, the fake Bot API in a thread, and
clients that retry as real ones do (an SMTP server, Telegram, a browser)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from tests.helpers import ROOT, free_port, heard_env
from tests.telegram_fake import FakeBotAPI

READY = "Press Ctrl-C to stop."


class Part:
    """One `heard serve --only NAME` process; its output is kept for the report when it fails."""

    def __init__(self, label: str, only: str, env: dict[str, str]) -> None:
        self.label, self.only, self.env = label, only, env
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.ready = threading.Event()
        self.starts = 0

    def start(self) -> None:
        self.ready.clear()
        self.starts += 1
        self.started_at = time.monotonic()
        self.output.append(f"--- start {self.starts} ---\n")
        self.proc = subprocess.Popen([sys.executable, "-m", "heard", "serve", "--only", self.only],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=self.env)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)
            if READY in line:
                self.output.append(f"--- ready after {time.monotonic() - self.started_at:.1f} s ---\n")
                self.ready.set()

    def wait_ready(self, timeout: float = 90) -> None:
        if not self.ready.wait(timeout):
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: where every thread is
                time.sleep(2)
            raise AssertionError(f"{self.label} never became ready:\n{self.tail()}")

    def kill(self) -> None:
        """kill -9: no clean stop, nothing finished, as when a machine dies."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.output.append("--- killed (SIGKILL) ---\n")

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None

    def tail(self, lines: int = 80) -> str:
        return "".join(self.output[-lines:])


def heard(database_url: str, **settings: str) -> dict[str, str]:
    return {**heard_env(database_url=database_url, **settings), "PYTHONFAULTHANDLER": "1"}


def run_heard(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heard", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT)


# --- the council's mail relay ------------------------------------------------------------


@dataclass
class Delivered:
    sender: str
    to: tuple[str, ...]
    message_id: str
    subject: str
    in_reply_to: str
    body: str


class _SinkHandler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        part = parsed.get_body(("plain",))
        with self.sink.lock:
            self.sink.mail.append(Delivered(envelope.mail_from, tuple(envelope.rcpt_tos), str(parsed["Message-ID"] or ""),
                                            str(parsed["Subject"] or ""), str(parsed["In-Reply-To"] or ""),
                                            part.get_content() if part is not None else ""))
        return "250 OK"


class MailSink:
    """Everything Heard sends by email arrives here, over real SMTP."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mail: list[Delivered] = []
        self.lock = threading.Lock()
        self.controller = Controller(_SinkHandler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[Delivered]:
        with self.lock:
            return [m for m in self.mail if address in m.to]


# --- Telegram ------------------------------------------------------------------------------


class Telegram:
    """The fake Bot API on a loop of its own, and Telegram's side of a webhook: an update is
    posted until the webhook answers 200 (Telegram retries anything else, and a refused connection)."""

    def __init__(self) -> None:
        self.api = FakeBotAPI()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = free_port()
        self.update_ids = iter(range(1, 10**9))
        self.message_ids = iter(range(1, 10**9))
        self.ids_lock = threading.Lock()
        self.resent = 0

    def start(self) -> Telegram:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.api.start(self.port), self.loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def text_update(self, chat_id: int, text: str) -> dict[str, Any]:
        with self.ids_lock:
            update_id, message_id = next(self.update_ids), next(self.message_ids)
        return {"update_id": update_id, "message": {
            "message_id": message_id, "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"}}}

    def deliver(self, webhook: str, secret: str, update: dict[str, Any], deadline: float) -> None:
        body = json.dumps(update)
        while True:
            try:
                answer = httpx.post(webhook, content=body, timeout=30, headers={
                    "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
                if answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self.resent += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"the webhook never took update {update['update_id']}")
            time.sleep(0.5)

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.params["text"] for c in list(self.api.calls) if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id]


# --- email ---------------------------------------------------------------------------------


@dataclass
class MailClient:
    """A sending mail server: it tries again on a refused connection, a dropped one or a 4xx,
    and stops when it has a 250 (a 5xx would be final, and fails the test)."""

    port: int
    to: str
    retries: int = 0

    def send(self, sender: str, raw: bytes, deadline: float) -> None:
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
                    code, answer = smtp.ehlo()
                    smtp.mail(sender)
                    smtp.rcpt(self.to)
                    code, answer = smtp.data(raw)
                    if code == 250:
                        return
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code >= 500:
                    raise AssertionError(f"the intake refused mail from {sender}: {exc.smtp_code} {exc.smtp_error!r}") from None
            except (OSError, smtplib.SMTPException):
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"the intake never took mail from {sender}")
            time.sleep(0.5)


def complaint(sender: str, message_id: str, subject: str, body: str, *, in_reply_to: str = "") -> bytes:
    message = email.message.EmailMessage()
    message["From"] = sender
    message["To"] = "complaints@council.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = email.utils.formatdate(localtime=False)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message.as_bytes()


# --- web chat ------------------------------------------------------------------------------


@dataclass
class Browser:
    """One young person's browser on the web chat, behind a load balancer of two web processes:
    a post that gets no answer is sent again (the same form, so the same `once`), to whichever
    process answers; the cookie is kept as a browser keeps it."""

    ports: list[int]
    cookie: str = ""
    shown: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0
    turn: int = 0
    n: int = 0

    def say(self, text: str, once: str, deadline: float) -> list[dict[str, Any]]:
        after = self.shown[-1]["id"] if self.shown else 0
        while True:
            port = self.ports[(self.turn + self.retries) % len(self.ports)]
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/chat", data={"text": text, "once": once, "after": str(after)},
                                    headers={"accept": "application/json", **({"cookie": f"heard_chat={self.cookie}"} if self.cookie else {})},
                                    timeout=30)
                if answer.status_code == 200:
                    self.cookie = self.cookie or answer.cookies.get("heard_chat", "")
                    new = answer.json()["messages"]
                    self.shown += new
                    self.turn += 1
                    return new
            except httpx.HTTPError:
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"the web chat never took {text!r}")
            time.sleep(0.3)


def every_until(deadline: float, check: Callable[[], Any], what: str, pause: float = 1.0,
                show: Callable[[], Any] | None = None) -> Any:
    """Poll `check` until it returns something true, or fail saying what never happened."""
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(pause)
    raise AssertionError(f"{what} (last seen: {show() if show else last!r})")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
