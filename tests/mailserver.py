"""A running SMTP intake for tests: the real handler and processor on an event loop in a thread,
listening on a loopback port, so tests talk to it with a real `smtplib` client."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bots.email.processor import EmailProcessor, Limits
from bots.email.server import IntakeHandler, smtp_factory
from models import Message
from models.enums import MessageState
from scheduler.clock import Clock
from scheduler.policy import load_policy
from tests.helpers import free_port
from triage.intake import Classify

OURS = "complaints@council.example"


@dataclass
class MailServer:
    engine: Engine
    max_bytes: int = 1024 * 1024 * 8
    attachment_max_bytes: int = 1024 * 1024
    port: int = field(default_factory=free_port)
    lock_patience: float = 10.0
    tls: ssl.SSLContext | None = None
    classify: Classify | None = None

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.processor = EmailProcessor(
            self.engine, Clock(load_policy()), ZoneInfo("Europe/London"), [OURS], classify=self.classify,
            limits=Limits(self.attachment_max_bytes),
        )
        self.handler = IntakeHandler(self.engine, [OURS], self._submit, lock_patience=self.lock_patience)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _submit(self, message_id: int) -> None:
        self.processor.submit(message_id)

    def start(self) -> MailServer:
        self.thread.start()
        factory = smtp_factory(self.handler, hostname="heard.test", max_bytes=self.max_bytes, tls=self.tls)

        async def up() -> None:
            await self.processor.start()
            self.server = await self.loop.create_server(factory, "127.0.0.1", self.port)

        asyncio.run_coroutine_threadsafe(up(), self.loop).result(10)
        return self

    def stop(self) -> None:
        async def down() -> None:
            self.server.close()
            await self.server.wait_closed()
            await self.processor.stop()

        asyncio.run_coroutine_threadsafe(down(), self.loop).result(30)
        self.handler.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=30)

    def send(self, raw: bytes, mail_from: str = "parent@example.org", to: str = OURS) -> tuple[int, bytes]:
        with self.client() as smtp:
            smtp.ehlo()
            smtp.mail(mail_from)
            smtp.rcpt(to)
            return smtp.data(raw)

    def settle(self, timeout: float = 30) -> None:
        """Wait until every stored message has been processed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with Session(self.engine) as session:
                waiting = session.exec(select(Message.id).where(Message.state == MessageState.stored)).first()
            if waiting is None:
                return
            time.sleep(0.02)
        raise AssertionError("messages were still waiting to be processed")
