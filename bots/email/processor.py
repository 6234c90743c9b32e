"""Stored email → representation: parse, recognise machine mail, thread or open a case, and
acknowledge (with loop protection). Runs after the 250, in batches, and on start picks up
anything a killed process left `stored`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from bots.email.batch import Batch
from bots.email.parse import ParsedEmail, parse
from bots.email.queue import TakingTurns, Taken, claim
from models import Attachment, AuditEvent, Case, Message, OutboxItem
from models.enums import MessageState, OutboxStatus
from scheduler.clock import Clock
from triage.intake import Classify, Suggestion, attach, take_in, thread
from triage.opening import Opening
from triage.suggest import Primed

log = logging.getLogger("heard.email")


@dataclass(frozen=True)
class Limits:
    attachment_max_bytes: int = 10 * 1024 * 1024


def _log_outcomes(session: Session, ids: list[int]) -> None:
    """A line for each message read: its id, what became of it and its case (never its sender or words)."""
    if not log.isEnabledFor(logging.INFO):
        return
    try:  # after the commit: a failure here must not mark the batch failed
        rows = session.execute(
            sa.select(Message.id, Message.state, Case.reference).outerjoin(Case, Case.id == Message.case_id)
            .where(Message.id.in_(ids)).order_by(Message.id)
        ).all()
    except sa.exc.SQLAlchemyError as exc:
        log.warning("%d email message(s) read; cannot say into which cases (%s)", len(ids), exc)
        return
    for message_id, state, reference in rows:
        log.info("email message %d %s%s", message_id, getattr(state, "value", state),
                 f" on case {reference}" if reference else "",
                 extra={"message_id": message_id, "case": reference, "channel": "email"})


class EmailProcessor:
    """Turns stored mail into representations, a batch per transaction.

    A batch is read, parsed and classified (one classifier call for the batch) before
    anything is written; then one transaction claims it, runs `_handle` on each message and
    commits: fewer commits, and SQLite's single write lock is held once per batch, briefly.
    On PostgreSQL the claim locks its rows (`FOR UPDATE SKIP LOCKED`), so several workers
    share the queue; the conditional update of `processed_at` makes double processing
    impossible on either database. If anything in a batch fails, the batch is rolled back
    and its messages are done one at a time, so only the one that fails is marked failed.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        zone: ZoneInfo,
        our_addresses: list[str],
        classify: Classify | None = None,
        limits: Limits = Limits(),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int | None = None,
    ) -> None:
        self.engine, self.clock, self.zone, self.limits, self.now = engine, clock, zone, limits, now
        self.classify: Primed | None = Primed(classify) if classify else None
        self.batch = batch or 16
        self.turns = TakingTurns(engine)
        self._held = 0.0  # how long the last write transaction held the write lock
        self._waited = 0.0  # how long the oldest message of the last batch had waited
        self.pause = 0.0  # how long to leave the write lock alone after the last batch (SQLite)
        self.ours = frozenset(a.lower() for a in our_addresses)
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heard-email-process")
        self.current: Batch | None = None  # what the batch being written knows (`_write`)
        self._kicked: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def submit(self, message_id: int) -> None:
        """Wake the worker: a message was just stored (in this process)."""
        if self._kicked is not None:
            self._kicked.set()

    async def start(self, idle: float = 0.5) -> None:
        self._kicked = asyncio.Event()
        self._task = asyncio.create_task(self._run(idle))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.worker.shutdown(wait=True)

    async def _run(self, idle: float = 0.5) -> None:
        """The database is the queue: work through `stored` messages, then wait for a kick or a tick.

        Polling (rather than an in-memory queue) is what lets a separate worker process, a
        restarted process or a second server share the work, and keeps memory flat.
        """
        loop = asyncio.get_running_loop()
        assert self._kicked is not None
        while True:
            self._kicked.clear()
            try:
                claimed = await loop.run_in_executor(self.worker, self.process_next)
            except Exception as exc:  # the database is down or busy: what is stored stays stored; try again
                log.warning("cannot look for stored mail just now (%s); trying again", exc)
                await asyncio.sleep(max(idle, 1.0))
                continue
            if self.pause:
                await asyncio.sleep(self.pause)
            if not claimed:
                try:
                    await asyncio.wait_for(self._kicked.wait(), idle)
                except TimeoutError:
                    pass

    def process_next(self) -> int:
        """Claim and process the next batch of stored mail; how many messages it claimed.

        Raises only when the database cannot be used at all; a message that fails is marked
        failed (and logged) while the rest go on. On SQLite it sets `pause`: how long the run
        loop leaves the write lock to the intake before the next batch (`TakingTurns`).
        """
        self._held = self.pause = 0.0
        began = time.monotonic()
        claimed = self._batch(None, size=self.turns.batch(self.batch))
        if claimed and self._held and self.turns.on:  # paced by the whole batch: the intake needs the CPU too
            with Session(self.engine) as session:
                self.pause = self.turns.pause_after(session, time.monotonic() - began, self._waited)
        return claimed

    def process(self, message_id: int) -> None:
        """Process one stored message; one that fails is marked failed and the error raised."""
        self._batch([message_id], reraise=True)

    def _batch(self, ids: list[int] | None, reraise: bool = False, size: int = 0) -> int:
        now = self.now()
        with Session(self.engine, expire_on_commit=False) as session:
            messages = claim(session, size or len(ids or ()), ids)
            if not messages:
                session.rollback()
                return 0
            claimed = [m.id for m in messages]  # a rollback expires the objects
            self._waited = (now - messages[0].received_at).total_seconds()
            try:
                # Parse and classify before the first write: on SQLite no lock is held yet.
                parsed = {m.id: parse(m.raw_bytes or b"", our_addresses=self.ours, envelope_sender=m.sender) for m in messages}
                if self.classify:
                    self.classify.prime([p.clean_text for p in parsed.values() if not (p.is_bounce or p.automatic)])
                self._write(session, messages, parsed, now)
                _log_outcomes(session, claimed)
                return len(messages)
            except Taken:
                session.rollback()
                if len(claimed) == 1:
                    return 0  # another worker did it
            except Exception as exc:
                session.rollback()
                if len(claimed) == 1:
                    self._fail(claimed[0], exc)
                    if reraise:
                        raise
                    log.exception("processing message %s failed", claimed[0])
                    return 1
                log.warning("a batch of %d failed (%s); doing them one at a time", len(claimed), exc)
        for message_id in claimed:  # each in its own transaction: only the one that fails is marked failed
            self._batch([message_id])  # type: ignore[list-item]
        return len(claimed)

    def _write(self, session: Session, messages: list[Message], parsed: dict[int | None, ParsedEmail], now: datetime) -> None:
        """The claim, then each message, then one commit for the batch."""
        began = time.monotonic()
        ids = [m.id for m in messages]
        claimed = session.execute(  # a conditional update: two workers never both take a message
            sa.update(Message).where(Message.id.in_(ids), Message.processed_at.is_(None)).values(processed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != len(ids):
            raise Taken(f"{len(ids) - claimed} of the batch were taken by another worker")
        with session.no_autoflush:
            self.current = Batch(session, messages, parsed, now, self.clock, self.zone)
            for message in messages:
                set_committed_value(message, "processed_at", now)  # written by the claim, not again
                self._handle(session, message, parsed[message.id], now)
            self.current.write()
        session.commit()
        self._held = time.monotonic() - began

    def _fail(self, message_id: int | None, exc: Exception) -> None:
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            if message is not None and message.state == MessageState.stored:
                message.state, message.error = MessageState.failed, f"{type(exc).__name__}: {exc}"[:2000]
                session.commit()

    def _handle(self, session: Session, message: Message, parsed: ParsedEmail, now: datetime) -> None:
        batch = self.current
        assert batch is not None, "a message is handled within a batch (`_write`)"
        self._fill(message, parsed)
        if batch.opens_a_case(message, parsed):  # most mail: its case is opened with the batch's others
            message.state = MessageState.processed
            batch.open(Opening(
                message, self.classify(message.clean_text) if self.classify else Suggestion(),
                acknowledge_to=message.sender or None,
                acknowledge_suppressed=parsed.no_ack or batch.rate_limited(message.sender),
            ))
            return
        batch.write()  # anything else sees the batch's earlier messages in the database
        if parsed.is_bounce:
            self._bounce(session, message, parsed)
        elif self._same_message_id(session, message, parsed, now):
            pass
        elif parsed.automatic:
            # Machine mail is kept, and shown on its case if it threads (by the same rule as any
            # mail: a named reference counts only from a contact on that case); it never opens one.
            case = thread(session, message, [parsed.in_reply_to, *parsed.references]).case
            message.case_id = case.id if case else None
            message.state, message.error = MessageState.ignored, f"automatic: {parsed.automatic}"
        else:
            suppressed = parsed.no_ack or self._rate_limited(session, message.sender, now)
            outcome = take_in(
                session, message, clock=self.clock, zone=self.zone, now=now, classify=self.classify,
                message_ids=[parsed.in_reply_to, *parsed.references], acknowledge_to=message.sender or None,
                acknowledge_suppressed=suppressed,
            )
            message.state = MessageState.processed
            batch.done(message, acknowledged=outcome.opened and bool(message.sender) and not suppressed)
            return
        batch.done(message, acknowledged=False)

    def _fill(self, message: Message, parsed: ParsedEmail) -> None:
        message.sender = parsed.sender or message.sender
        message.subject = parsed.subject[:10_000]
        message.text = parsed.text[:1_000_000]
        message.clean_text = parsed.clean_text
        message.in_reply_to = parsed.in_reply_to[:998]
        message.references = " ".join(parsed.references)[:100_000]
        message.headers = {**(message.headers or {}), **parsed.headers, "problems": parsed.problems}
        for a in parsed.attachments:
            keep = a.size <= self.limits.attachment_max_bytes
            note = "quarantined: a type that can run code; never opened" if a.dangerous else ""
            if not keep:
                note = (note + "; " if note else "") + f"not kept: larger than {self.limits.attachment_max_bytes} bytes"
            message_attachment = Attachment(
                message_id=message.id, filename=a.filename, content_type=a.content_type, size=a.size, sha256=a.sha256,
                content=a.content if keep else None, quarantined=a.dangerous, note=note[:255],
            )
            Session.object_session(message).add(message_attachment)  # type: ignore[union-attr]

    def _bounce(self, session: Session, message: Message, parsed: ParsedEmail) -> None:
        """Match a delivery failure to the outbox item it reports on, so officers see it."""
        message.state = MessageState.ignored
        message.error = "automatic: a bounce"
        ids = [i for i in parsed.bounced_message_ids if i]
        item = session.exec(select(OutboxItem).where(OutboxItem.provider_message_id.in_(ids))).first() if ids else None
        if item is None:
            return
        item.status, item.last_error = OutboxStatus.failed, f"bounced: {message.subject or 'delivery failed'}"[:2000]
        message.case_id = item.case_id
        session.add(AuditEvent(at=self.now(), actor="intake:email", case_id=item.case_id, action="bounce",
                               detail={"outbox_id": item.id, "message_id": message.id}))

    def _same_message_id(self, session: Session, message: Message, parsed: ParsedEmail, now: datetime) -> bool:
        """A Message-ID and sender already on a case. The same words and attachments (only the
        trace headers differ, as when mail comes again by another route) are a copy: kept, not
        a new representation. Anything else is a different message that reuses the ID (a client
        that resends an edited draft): it joins the same case, marked as a possible resend, its
        text kept. Identical bytes never get this far: the SMTP intake stores them once."""
        if not message.external_id:
            return False
        earlier = session.exec(
            select(Message).where(Message.external_id == message.external_id, Message.sender == message.sender,
                                  Message.id != message.id, Message.state == MessageState.processed,
                                  Message.case_id.is_not(None))  # type: ignore[union-attr]
            .order_by(Message.id)
        ).first()
        if earlier is None:
            return False
        earlier_files = sorted(session.exec(select(Attachment.sha256).where(Attachment.message_id == earlier.id)).all())
        if (earlier.subject, earlier.clean_text, earlier_files) == (message.subject, message.clean_text, sorted(a.sha256 for a in parsed.attachments)):
            message.case_id, message.state = earlier.case_id, MessageState.ignored
            message.error = f"a copy of message {earlier.id}"
            return True
        case = session.get(Case, earlier.case_id)
        if case is None:
            return False
        message.headers = {**(message.headers or {}), "possible_resend_of": earlier.id}
        attach(session, message, case, now)
        message.state = MessageState.processed
        session.add(AuditEvent(at=now, actor="intake:email", case_id=message.case_id, action="possible_resend",
                               detail={"message_id": message.id, "earlier_message_id": earlier.id,
                                       "why": "the same Message-ID as an earlier message, with different content"}))
        return True

    def _rate_limited(self, session: Session, sender: str, now: datetime) -> str:
        recent = session.exec(
            select(OutboxItem.id).where(
                OutboxItem.purpose == "acknowledgement", OutboxItem.recipient == sender,
                OutboxItem.status != OutboxStatus.suppressed, OutboxItem.created_at >= now - timedelta(hours=1),
            )
        ).first()
        return "at most one acknowledgement per sender per hour" if recent else ""
