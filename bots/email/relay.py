"""Outbound mail: email outbox items delivered through the configured relay, with retries.

Each item is claimed with a conditional UPDATE (pending → sending) so two senders never
send it twice; its Message-ID is fixed when claimed, so a reply threads back to its case
and a bounce finds it. Temporary failures back off; 5xx answers and too many tries fail
permanently and are shown to officers.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

import aiosmtplib
from sqlalchemy.engine import Engine
import sqlalchemy as sa
from sqlmodel import Session, select

from bots.outbox import claim_due, every, log_sent, record_failure, release_stale
from models import Attachment, Message, OutboxItem
from scheduler.sweep import acknowledged
from models.enums import Channel, Direction, MessageState, OutboxStatus

log = logging.getLogger("heard.outbox")

BACKOFF = [timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720)]  # then the eighth failure is final


@dataclass(frozen=True)
class Relay:
    host: str
    port: int = 587
    username: str = ""
    password: str = ""
    starttls: bool = True
    mail_from: str = "complaints@heard.localhost"
    timeout: float = 30


def compose(item: OutboxItem, mail_from: str, files: Sequence[Attachment] = ()) -> EmailMessage:
    """The message as sent; an address with letters outside ASCII is written as it is (RFC 6532),
    never RFC 2047-encoded into something no server can deliver to. `files` (an officer's
    attachments to a reply) go as MIME attachments after the text."""
    message = EmailMessage(policy=email.policy.SMTPUTF8 if needs_smtputf8(item.recipient) else email.policy.default)
    message["From"] = mail_from
    message["To"] = item.recipient
    message["Subject"] = item.subject
    message["Message-ID"] = item.provider_message_id
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Auto-Submitted"] = "auto-replied" if item.purpose == "acknowledgement" else "auto-generated"
    message.set_content(item.body)
    for f in files:
        maintype, _, subtype = (f.content_type if "/" in f.content_type else "application/octet-stream").partition("/")
        message.add_attachment(f.content or b"", maintype=maintype, subtype=subtype, filename=f.filename)
    return message


def files_of(engine: Engine, outbox_id: int) -> list[Attachment]:
    """The files an officer attached to this outbox item, in the order attached."""
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(Attachment).where(Attachment.outbox_id == outbox_id).order_by(Attachment.id)))


def needs_smtputf8(address: str) -> bool:
    return not address.isascii()


def undeliverable(address: str, relay_offers_smtputf8: bool) -> str:
    """Why this address must not be sent to (a clear reason for officers), or "" when it may."""
    if "\ufffd" in address or not address.strip() or "@" not in address:
        return f"not sent: the address {address!r} could not be read correctly; reply another way"
    if needs_smtputf8(address) and not relay_offers_smtputf8:
        return (f"not sent: the address {address} has letters outside English, and the mail relay does not offer "
                "SMTPUTF8, which such an address needs; reply another way, or use a relay that offers it")
    return ""


class MailSender:
    def __init__(self, engine: Engine, relay: Relay, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 zone: ZoneInfo = ZoneInfo("Europe/London")) -> None:
        self.engine, self.relay, self.now, self.zone = engine, relay, now, zone

    def claim(self, limit: int = 20) -> list[OutboxItem]:
        """Take due email items; each gets its Message-ID now, so a retry sends the same one."""
        domain = self.relay.mail_from.split("@")[-1]

        def message_id(item: OutboxItem) -> None:
            item.provider_message_id = item.provider_message_id or make_msgid(domain=domain)

        return claim_due(self.engine, Channel.email, self.now(), limit, message_id)

    async def send_due(self) -> int:
        """Send what is due over one relay connection; each message's fate is recorded on its own."""
        items = await asyncio.to_thread(self.claim)
        if not items:
            return 0
        sent, handled = 0, set()
        r = self.relay
        try:
            async with aiosmtplib.SMTP(hostname=r.host, port=r.port, start_tls=r.starttls, timeout=r.timeout) as smtp:
                if r.username:
                    await smtp.login(r.username, r.password)
                if not smtp.esmtp_extensions:  # know what the relay offers (SMTPUTF8) before the first message
                    await smtp.ehlo()
                for item in items:
                    refused = undeliverable(item.recipient, smtp.supports_extension("smtputf8"))
                    if refused:
                        await asyncio.to_thread(self._failed, item, refused, permanent=True)
                        handled.add(item.id)
                        continue
                    message = compose(item, r.mail_from, await asyncio.to_thread(files_of, self.engine, item.id))
                    try:
                        await smtp.send_message(message, mail_options=["SMTPUTF8"] if needs_smtputf8(item.recipient) else None)
                    except aiosmtplib.SMTPResponseException as exc:
                        await asyncio.to_thread(self._failed, item, f"{exc.code} {exc.message}", permanent=exc.code >= 500)
                    else:
                        await asyncio.to_thread(self._sent, item, message)
                        sent += 1
                    handled.add(item.id)
        except (aiosmtplib.SMTPException, OSError) as exc:
            for item in items:
                if item.id not in handled:
                    await asyncio.to_thread(self._failed, item, str(exc) or type(exc).__name__, permanent=False)
        return sent

    def _sent(self, item: OutboxItem, message: EmailMessage) -> None:
        now = self.now()
        with Session(self.engine) as session:
            row = session.get_one(OutboxItem, item.id)
            row.status, row.sent_at, row.last_error = OutboxStatus.sent, now, ""
            if item.purpose == "acknowledgement":
                acknowledged(session.connection(), item.case_id, now.astimezone(self.zone).date())
            session.add(Message(
                dedupe_key=f"outbox:{item.id}", channel=Channel.email, direction=Direction.outbound,
                state=MessageState.processed, case_id=item.case_id, contact_id=item.contact_id,
                raw_bytes=message.as_bytes(), external_id=item.provider_message_id, sender=self.relay.mail_from,
                subject=item.subject, text=item.body, clean_text=item.body, received_at=now, processed_at=now,
            ))
            session.flush()
            # The files sent now also belong to the message recorded, as an inbound message's do.
            session.execute(sa.update(Attachment).where(Attachment.outbox_id == item.id).values(
                message_id=sa.select(Message.id).where(Message.dedupe_key == f"outbox:{item.id}").scalar_subquery()))
            session.commit()
            log_sent(session, item)

    def _failed(self, item: OutboxItem, error: str, *, permanent: bool) -> None:
        record_failure(self.engine, item, error, permanent=permanent, now=self.now(), backoff=BACKOFF)

    def release_stale(self) -> int:
        return release_stale(self.engine, Channel.email)

    async def run(self, interval: float = 5.0) -> None:
        await asyncio.to_thread(self.release_stale)
        await every(interval, self.send_due, "the email outbox sender")
