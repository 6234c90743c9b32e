"""What the email worker knows within one batch, so that most messages need no query of their own.

Most mail opens a new case: it names no reference, replies to nothing, and no earlier message
has its Message-ID. Such a message is decided from what the batch looked up once (who was
acknowledged in the last hour, which Message-IDs are already on a case) and its case is opened
with the batch's others, in bulk, when the batch is written. Any other message first writes
what is pending, so that it sees every earlier message of the batch in the database, exactly
as if the batch had been done one message at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from bots.email.parse import ParsedEmail
from models import Message, OutboxItem
from models.enums import MessageState, OutboxStatus
from scheduler.clock import Clock
from triage.intake import find_references
from triage.opening import Opening, open_cases

RATE_LIMITED = "at most one acknowledgement per sender per hour"


class Batch:
    def __init__(self, session: Session, messages: Iterable[Message], parsed: dict[int | None, ParsedEmail],
                 now: datetime, clock: Clock, zone: ZoneInfo) -> None:
        self.session, self.now, self.clock, self.zone = session, now, clock, zone
        self.openings: list[Opening] = []
        messages = list(messages)
        senders = {parsed[m.id].sender or m.sender for m in messages} - {""}
        self.acknowledged: set[str] = set(session.execute(  # an acknowledgement (not suppressed) in the last hour
            sa.select(OutboxItem.recipient).where(
                OutboxItem.purpose == "acknowledgement", OutboxItem.recipient.in_(senders),
                OutboxItem.status != OutboxStatus.suppressed, OutboxItem.created_at >= now - timedelta(hours=1),
            ).distinct()
        ).scalars()) if senders else set()
        ids = {m.external_id for m in messages} - {""}
        self.on_a_case: set[tuple[str, str]] = {(i, s) for i, s in session.execute(  # (Message-ID, sender) of earlier mail on a case
            sa.select(Message.external_id, Message.sender).where(
                Message.external_id.in_(ids), Message.state == MessageState.processed, Message.case_id.is_not(None),
            )
        )} if ids else set()

    def opens_a_case(self, message: Message, parsed: ParsedEmail) -> bool:
        """Nothing but a new case can come of it: not machine mail, naming no reference, replying
        to nothing, and no earlier message with its Message-ID and sender."""
        return not (
            parsed.is_bounce or parsed.automatic or parsed.in_reply_to or any(parsed.references)
            or (message.external_id and (message.external_id, message.sender) in self.on_a_case)
            or find_references([message.subject, message.clean_text])
        )

    def rate_limited(self, sender: str) -> str:
        return RATE_LIMITED if sender in self.acknowledged else ""

    def open(self, opening: Opening) -> None:
        """A case to open when the batch is written."""
        self.openings.append(opening)
        self.done(opening.message, acknowledged=bool(opening.acknowledge_to and not opening.acknowledge_suppressed))

    def done(self, message: Message, acknowledged: bool) -> None:
        """What later messages of the batch must know of this one."""
        if acknowledged:
            self.acknowledged.add(message.sender)
        if message.external_id and message.state is MessageState.processed:
            self.on_a_case.add((message.external_id, message.sender))

    def write(self) -> None:
        """Open the pending cases and flush, so the database shows every message so far."""
        open_cases(self.session, self.openings, clock=self.clock, zone=self.zone, now=self.now)
        self.openings = []
        self.session.flush()
