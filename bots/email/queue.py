"""The database as the email worker's queue: claiming the next stored messages.

On PostgreSQL the claim locks the rows it takes and skips rows another worker has locked
(`FOR UPDATE SKIP LOCKED`), so several workers share the queue without waiting on each
other; the locks last until the batch commits or rolls back (a killed worker's go with its
connection). SQLite ignores the clause: it has one writer, so it runs one worker, and the
processor's conditional update of `processed_at` is what keeps a message from being done twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Message
from models.enums import Channel

# Written out, not a bound parameter, so that PostgreSQL's generic plans can use the
# partial index `ix_message_stored` too (SQLite re-plans with the bound value anyway).
STORED = sa.text("message.state = 'stored'")


class Taken(Exception):
    """Another worker processed a message of this batch first."""


def claim(session: Session, limit: int, ids: list[int] | None = None) -> list[Message]:
    """The oldest stored email (or those of `ids` still stored), locked on PostgreSQL."""
    query = (
        select(Message).where(STORED, Message.channel == Channel.email)
        .order_by(Message.id).limit(limit).with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(Message.id.in_(ids))
    return list(session.exec(query))


class TakingTurns:
    """How the worker shares SQLite's one write lock with the SMTP intake.

    A sender waits for its 250 while the intake waits for the lock (and, on a small machine,
    for a core), so while mail is arriving the intake comes first — for a while. The longer
    the oldest stored message has waited, the more the worker takes:

    - under `patience` seconds: `busy_batch` messages per transaction, then it leaves the
      lock and the CPU alone for `burst` times as long as the batch took (reading and
      classifying it too: on a small machine the two share the cores as well as the lock);
    - under `overdue` seconds: a few more per transaction, and an equal pause (half each);
    - older, or when nothing new has arrived since its last batch: full batches, flat out.

    A burst is taken at the intake's pace and read into cases just after it; a load the
    worker cannot keep up with sharing the lock still gets each message read within about
    `overdue` seconds. PostgreSQL needs none of this: writers there do not wait for each other.
    """

    busy_batch, burst, patience, overdue = 2, 4.0, 10.0, 60.0

    def __init__(self, engine: Engine) -> None:
        self.on = engine.dialect.name == "sqlite"
        self.newest = 0
        self.arriving = False
        self.waited = 0.0

    def batch(self, full: int) -> int:
        """Messages for the next transaction."""
        if not (self.on and self.arriving) or self.waited >= self.overdue:
            return full
        return self.busy_batch if self.waited < self.patience else min(full, 2 * self.busy_batch)

    def pause_after(self, session: Session, held: float, waited: float) -> float:
        """How long to leave the lock (and the CPU) alone after a batch that took `held` seconds,
        the oldest message of its batch having waited `waited` seconds."""
        if not self.on:
            return 0.0
        newest = session.execute(sa.select(sa.func.max(Message.id))).scalar() or 0
        self.arriving, self.newest, self.waited = newest > self.newest, newest, waited
        if not self.arriving or waited >= self.overdue:
            return 0.0
        return held * (self.burst if waited < self.patience else 1.0)
