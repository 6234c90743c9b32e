"""Writing to the outbox: an insert that does nothing when its idempotency key is already there,
so the same action written twice — by a retry, a restart or a second scheduler — is sent once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from models import OutboxItem
from models.enums import OutboxStatus

TABLE = OutboxItem.__table__


def row(key: str, purpose: str, channel: str, recipient: str, subject: str, body: str, now: datetime,
        case_id: int | None = None, contact_id: int | None = None, buttons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "idempotency_key": key[:255], "purpose": purpose, "channel": channel, "recipient": recipient[:320],
        "case_id": case_id, "contact_id": contact_id, "subject": subject, "body": body, "buttons": buttons or [],
        "status": OutboxStatus.pending.value, "attempts": 0, "next_attempt_at": now, "last_error": "",
        "provider_message_id": "", "created_at": now, "sent_at": None,
    }


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows whose key is new; the others are already on their way."""
    if rows:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(TABLE).on_conflict_do_nothing(index_elements=["idempotency_key"]), list(rows))


def exists(conn: Connection, key: str) -> bool:
    return conn.execute(sa.select(TABLE.c.id).where(TABLE.c.idempotency_key == key)).first() is not None


def take_write_lock(conn: Connection) -> None:
    """SQLite: become the writer before reading, so no other sweep interleaves (PostgreSQL uses row locks)."""
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("UPDATE referencesequence SET last = last WHERE year = -1"))
