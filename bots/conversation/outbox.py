"""Outbox delivery for the chat channels (Telegram and web chat), the same shape as the mail sender.

1. Claim: each due item is taken with a conditional UPDATE (pending → sending), so two
   senders never send it twice.
2. Deliver on the item's channel. A person marked unreachable (they blocked the bot) is not
   sent to: the item is `suppressed`.
3. Sent: the item is marked sent and what was sent is recorded as an outbound `Message` on
   the case (for web chat, that record *is* the delivery: the chat page shows it).
   Failed: a temporary failure backs off and retries; a permanent one (or too many tries)
   marks the item failed for officers to see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bots.outbox import claim_due, every, log_sent, record_failure, release_stale
from models import ChannelIdentity, Contact, Message, OutboxItem
from models.enums import Channel, Direction, MessageState, OutboxStatus

log = logging.getLogger("heard.outbox")

BACKOFF = [timedelta(seconds=s) for s in (10, 60, 300, 900, 3600, 10800, 21600)]  # then the eighth failure is final


def buttons_of(item: OutboxItem) -> list[dict[str, str]]:
    """An outbox item's buttons as [{"label", "value"}]; `text`/`data` (Telegram's words) are read too.
    A value is what the conversation understands when it is pressed, e.g. "advocate:yes"."""
    found = []
    for b in item.buttons or []:
        label = str(b.get("label") or b.get("text") or "")
        value = str(b.get("value") or b.get("data") or b.get("callback_data") or "")
        if label and value:
            found.append({"label": label, "value": value[:64]})
    return found


class DeliveryFailed(Exception):
    """Delivery did not happen. `permanent` stops retries; `retry_after` (seconds) overrides the backoff."""

    def __init__(self, why: str, *, permanent: bool = False, retry_after: float | None = None,
                 unreachable: bool = False) -> None:
        super().__init__(why)
        self.permanent, self.retry_after, self.unreachable = permanent, retry_after, unreachable


Deliver = Callable[[OutboxItem], Awaitable[str]]  # returns the channel's id for what was sent ("" if none)


class ChatSender:
    def __init__(self, engine: Engine, channel: Channel, deliver: Deliver,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 on_unreachable: Callable[[OutboxItem, str], None] | None = None) -> None:
        self.engine, self.channel, self.deliver, self.now = engine, channel, deliver, now
        self.on_unreachable = on_unreachable

    def claim(self, limit: int = 50) -> list[OutboxItem]:
        return claim_due(self.engine, self.channel, self.now(), limit)

    async def send_due(self) -> int:
        sent = 0
        for item in await asyncio.to_thread(self.claim):
            if await asyncio.to_thread(self._unreachable, item):
                await asyncio.to_thread(self._finish, item, OutboxStatus.suppressed, "the person is unreachable on this channel")
                continue
            try:
                provider_id = await self.deliver(item)
            except DeliveryFailed as exc:
                if exc.unreachable and self.on_unreachable:
                    await asyncio.to_thread(self.on_unreachable, item, str(exc))
                await asyncio.to_thread(self._failed, item, str(exc), exc.permanent, exc.retry_after)
                continue
            except Exception as exc:  # an unexpected failure is retried, never lost
                log.exception("delivering outbox item %s failed", item.id, extra={"outbox_id": item.id})
                await asyncio.to_thread(self._failed, item, f"{type(exc).__name__}: {exc}", False, None)
                continue
            await asyncio.to_thread(self._sent, item, provider_id)
            sent += 1
        return sent

    def _unreachable(self, item: OutboxItem) -> bool:
        with Session(self.engine) as session:
            contact = self._contact(session, item)
            return bool(contact and contact.unreachable)

    def _contact(self, session: Session, item: OutboxItem) -> Contact | None:
        if item.contact_id:
            return session.get(Contact, item.contact_id)
        identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == self.channel,
                                                              ChannelIdentity.address == item.recipient)).first()
        return session.get(Contact, identity.contact_id) if identity else None

    def _sent(self, item: OutboxItem, provider_id: str) -> None:
        now = self.now()
        with Session(self.engine) as session:
            row = session.get_one(OutboxItem, item.id)
            row.status, row.sent_at, row.last_error = OutboxStatus.sent, now, ""
            row.provider_message_id = provider_id or row.provider_message_id
            contact = self._contact(session, item)
            session.add(Message(
                dedupe_key=f"outbox:{item.id}", channel=self.channel, direction=Direction.outbound,
                state=MessageState.processed, case_id=item.case_id, contact_id=contact.id if contact else None,
                external_id=provider_id, sender="heard", subject=item.subject, text=item.body, clean_text=item.body,
                headers={"to": item.recipient, "purpose": item.purpose, "buttons": buttons_of(item)},
                received_at=now, processed_at=now,
            ))
            session.commit()
            log_sent(session, item)

    def _finish(self, item: OutboxItem, status: OutboxStatus, why: str) -> None:
        with Session(self.engine) as session:
            row = session.get_one(OutboxItem, item.id)
            row.status, row.last_error = status, why
            session.commit()

    def _failed(self, item: OutboxItem, error: str, permanent: bool, retry_after: float | None) -> None:
        record_failure(self.engine, item, error, permanent=permanent, now=self.now(), backoff=BACKOFF, retry_after=retry_after)

    def release_stale(self) -> int:
        return release_stale(self.engine, self.channel)

    async def run(self, interval: float = 2.0) -> None:
        await asyncio.to_thread(self.release_stale)
        await every(interval, self.send_due, f"the {self.channel.value} outbox sender")
