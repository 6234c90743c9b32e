"""What must be sent: written first, delivered later, never twice (the idempotency key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import enum_field, json_field, utc_field, utcnow
from models.enums import Channel, OutboxStatus


class OutboxItem(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),
        sa.Index("ix_outbox_recipient_created", "recipient", "created_at"),  # at most one acknowledgement an hour
        # /metrics: unsent and failed items by channel, and the oldest, without touching the sent millions
        sa.Index("ix_outbox_status_channel_created", "status", "channel", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=255, unique=True)
    purpose: str = Field(max_length=64, index=True)  # acknowledgement, reminder, referral, reply, …
    channel: Channel = enum_field(Channel)
    recipient: str = Field(max_length=320)  # email address, Telegram chat id, web chat session
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    subject: str = Field(default="", sa_type=sa.Text)
    body: str = Field(default="", sa_type=sa.Text)
    buttons: list[dict[str, Any]] = json_field(list)
    status: OutboxStatus = enum_field(OutboxStatus, default=OutboxStatus.pending)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = utc_field(default_factory=utcnow, nullable=False)
    last_error: str = Field(default="", sa_type=sa.Text)
    provider_message_id: str = Field(default="", max_length=998, index=True)  # our Message-ID
    created_at: datetime = utc_field(default_factory=utcnow, nullable=False)
    sent_at: datetime | None = utc_field()
