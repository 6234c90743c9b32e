"""Every message in and out, on every channel, kept as it arrived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import enum_field, json_field, utc_field, utcnow
from models.enums import Channel, Direction, MessageState

# Types that can run code: kept (they may be evidence) but quarantined, never opened or offered.
DANGEROUS_EXTENSIONS = frozenset(
    "exe bat cmd com scr pif js jse vbs vbe wsf wsh jar msi msp ps1 psm1 hta lnk dll cpl iso img vhd "
    "docm xlsm pptm dotm xlam reg inf scf url chm sh app apk".split()
)
DANGEROUS_TYPES = frozenset(
    ["application/x-msdownload", "application/x-dosexec", "application/x-msdos-program", "application/x-sh",
     "application/hta", "application/x-ms-shortcut", "application/java-archive", "application/vnd.ms-office.vbaproject"]
)


def dangerous(filename: str, content_type: str) -> bool:
    """A file of a type that can run code, by its name's extension or its declared type."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return extension in DANGEROUS_EXTENSIONS or content_type.lower() in DANGEROUS_TYPES


class Message(SQLModel, table=True):
    """One inbound or outbound message.

    Raw first: `raw_bytes` (email, byte for byte) or `raw_json` (a chat update as received)
    is committed before anything else happens; `dedupe_key` makes a repeat delivery collide.

    Only stored messages (the workers' queue) are indexed by state: an index over every
    state leads SQLite, without statistics, to look a Message-ID up by walking all the
    processed messages instead of by the Message-ID's own index.
    """

    __table_args__ = (
        sa.Index("ix_message_stored", "channel", "id",
                 sqlite_where=sa.text("state = 'stored'"), postgresql_where=sa.text("state = 'stored'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    channel: Channel = enum_field(Channel)
    direction: Direction = enum_field(Direction)
    state: MessageState = enum_field(MessageState, default=MessageState.stored)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    raw_bytes: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    raw_json: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    external_id: str = Field(default="", max_length=998, index=True)  # Message-ID, update_id
    in_reply_to: str = Field(default="", max_length=998)
    references: str = Field(default="", sa_type=sa.Text)
    sender: str = Field(default="", max_length=320)
    subject: str = Field(default="", sa_type=sa.Text)
    text: str = Field(default="", sa_type=sa.Text)  # best readable text, as written
    clean_text: str = Field(default="", sa_type=sa.Text)  # quotes and signatures removed
    headers: dict[str, Any] = json_field(dict)
    error: str = Field(default="", sa_type=sa.Text)
    possible_escalation: bool = Field(default=False)
    received_at: datetime = utc_field(default_factory=utcnow, nullable=False, index=True)
    processed_at: datetime | None = utc_field()


class Attachment(SQLModel, table=True):
    """A file sent with a message. Dangerous types are quarantined: content kept, never opened.

    A file an officer attaches to a reply belongs to its outbox item until it is sent, then
    also to the message the relay records."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    outbox_id: int | None = Field(default=None, foreign_key="outboxitem.id", index=True)
    filename: str = Field(default="", max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = Field(default=0)
    sha256: str = Field(default="", max_length=64)
    content: bytes | None = Field(default=None, sa_type=sa.LargeBinary)  # None when over the limit
    quarantined: bool = Field(default=False)
    note: str = Field(default="", max_length=255)
