"""Subject access: a person's request for everything held about them, and officers' marks on
third parties' details that the answer withholds."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import utc_field, utcnow


class SubjectAccessRequest(SQLModel, table=True):
    """A request under UK GDPR article 15, due one calendar month after it was received."""

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=320)  # the email address, phone number or Telegram chat it is about
    received_on: date
    due_on: date = Field(index=True)
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = utc_field(default_factory=utcnow, nullable=False)
    exported_at: datetime | None = utc_field()
    answered_on: date | None = Field(default=None)  # sent to the person: off the dashboard


class Withholding(SQLModel, table=True):
    """Words in one message that are a third party's details: a subject access answer shows
    "[withheld]" in their place and says why."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    words: str = Field(sa_type=sa.Text)
    reason: str = Field(sa_type=sa.Text)
    marked_by: str = Field(max_length=120)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    marked_at: datetime = utc_field(default_factory=utcnow, nullable=False)
