"""Reply templates: words admins keep for replies officers send often, with placeholders."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import utc_field, utcnow


class ReplyTemplate(SQLModel, table=True):
    """A reply officers start from; `{reference}`, `{date}` and `{name}` are filled per case."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    body: str = Field(default="", sa_type=sa.Text)
    changed_by: str = Field(default="", max_length=120)
    changed_at: datetime = utc_field(default_factory=utcnow, nullable=False)
