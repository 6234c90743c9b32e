"""The database as the email worker's queue: claiming the next stored messages.

On PostgreSQL the claim locks the rows it takes and skips rows another worker has locked
(`FOR UPDATE SKIP LOCKED`), so several workers share the queue without waiting on each
other; the locks last until the batch commits or rolls back (a killed worker's go with its
connection). SQLite ignores the clause: it has one writer, so it runs one worker, and the
processor's conditional update of `processed_at` is what keeps a message from being done twice.
"""

from __future__ import annotations

import sqlalchemy as sa
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
