"""What every channel's sender shares: claiming due outbox items, recording a failure with
backoff, and releasing items a killed process left half-sent.

A claim is a conditional UPDATE (pending → sending), so two senders never take one item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Case, OutboxItem
from models.enums import Channel, OutboxStatus

log = logging.getLogger("heard.outbox")


def claim_due(engine: Engine, channel: Channel, now: datetime, limit: int,
              prepare: Callable[[OutboxItem], None] = lambda item: None) -> list[OutboxItem]:
    """Take up to `limit` due items of a channel; `prepare` sees each before the claim commits."""
    claimed: list[OutboxItem] = []
    with Session(engine, expire_on_commit=False) as session:
        due = session.exec(
            select(OutboxItem.id).where(OutboxItem.channel == channel, OutboxItem.status == OutboxStatus.pending,
                                        OutboxItem.next_attempt_at <= now).order_by(OutboxItem.next_attempt_at).limit(limit)
        ).all()
        for item_id in due:
            taken = session.execute(
                sa.update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.status == OutboxStatus.pending)
                .values(status=OutboxStatus.sending, attempts=OutboxItem.attempts + 1)
            ).rowcount
            if taken:
                item = session.get_one(OutboxItem, item_id)
                prepare(item)
                claimed.append(item)
        session.commit()
    return claimed


def record_failure(engine: Engine, item: OutboxItem, error: str, *, permanent: bool, now: datetime,
                   backoff: Sequence[timedelta], retry_after: float | None = None) -> None:
    """A temporary failure waits its turn in `backoff`; a permanent one, or running out of tries, fails for officers to see."""
    with Session(engine) as session:
        row = session.get_one(OutboxItem, item.id)
        row.last_error = error[:2000]
        if permanent or row.attempts > len(backoff):
            row.status = OutboxStatus.failed
        else:
            row.status = OutboxStatus.pending
            wait = timedelta(seconds=retry_after) if retry_after else backoff[min(row.attempts, len(backoff)) - 1]
            row.next_attempt_at = now + wait
        reference, for_good = case_reference(session, row.case_id), row.status is OutboxStatus.failed
        session.commit()
    # Not the error's words: a relay's refusal quotes the recipient's address. Officers see it on the case.
    channel = getattr(item.channel, "value", item.channel)
    log.warning("sending %s outbox item %s failed (%s)", channel, item.id, "for good" if for_good else "will retry",
                extra={"outbox_id": item.id, "case": reference, "channel": channel})


def log_sent(session: Session, item: OutboxItem) -> None:
    """The line for an item sent, after its commit (its case's reference is read in the same session)."""
    if not log.isEnabledFor(logging.INFO):
        return
    channel = getattr(item.channel, "value", item.channel)
    try:
        reference = case_reference(session, item.case_id)
    except sa.exc.SQLAlchemyError:  # it was sent and recorded: the line goes without its case
        reference = None
    log.info("sent %s outbox item %s (%s)", channel, item.id, item.purpose,
             extra={"outbox_id": item.id, "case": reference, "channel": channel})


def case_reference(session: Session, case_id: int | None) -> str | None:
    return session.exec(select(Case.reference).where(Case.id == case_id)).first() if case_id else None


def release_stale(engine: Engine, channel: Channel) -> int:
    """Items left `sending` by a killed process go back to `pending` (an email keeps its Message-ID)."""
    with engine.begin() as conn:
        return conn.execute(
            sa.update(OutboxItem).where(OutboxItem.status == OutboxStatus.sending, OutboxItem.channel == channel)
            .values(status=OutboxStatus.pending)
        ).rowcount


async def every(seconds: float, round_: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `round_` every `seconds` until cancelled. A failed round is logged and the next one
    comes on time: a background loop that dies on one error stops delivering until a restart."""
    while True:
        try:
            await round_()
        except Exception:
            log.exception("%s failed a round; trying again", what)
        await asyncio.sleep(seconds)


async def cancel_all(tasks: list[asyncio.Task]) -> None:  # type: ignore[type-arg]
    """Stop a service's background loops (its senders and sweeps) and wait until each has ended."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
