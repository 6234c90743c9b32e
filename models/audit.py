"""The audit trail, officers' corrections kept as training labels, and chat conversation state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from models.columns import json_field, utc_field, utcnow


class AuditEvent(SQLModel, table=True):
    """Who did what to which case, when. Written for every view and change."""

    # The managers' list of extension requests reads these few events among every view.
    __table_args__ = (sa.Index("ix_audit_extension_requests", "case_id", "id",
                               sqlite_where=sa.text("action = 'extension_requested'"),
                               postgresql_where=sa.text("action = 'extension_requested'")),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(default_factory=utcnow, nullable=False, index=True)
    actor: str = Field(max_length=120)  # an officer's name, "scheduler", "intake:email", …
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    action: str = Field(max_length=64)
    detail: dict[str, Any] = json_field(dict)
    # The chain that shows tampering (models/audit_chain.py): set as the writing transaction commits.
    seq: int | None = Field(default=None, unique=True, index=True)
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)
    # The chain holds the detail's own hash, not the detail: retention may erase the words of a
    # deleted case's entries and the chain still verifies (models/audit_chain.erase_details).
    detail_hash: str = Field(default="", max_length=64)


def write_audit(session: Session, *, at: datetime, actor: str, action: str, case_id: int | None = None,
                officer_id: int | None = None, **detail: Any) -> AuditEvent:
    """Add one audit entry (it joins the chain when the session commits). For writers outside the
    officers' desk, e.g. the scheduler's retention run: `write_audit(session, at=now, actor="retention", ...)`."""
    event = AuditEvent(at=at, actor=actor, officer_id=officer_id, case_id=case_id, action=action, detail=detail)
    session.add(event)
    return event


class TrainingLabel(SQLModel, table=True):
    """An officer's correction of the classifier: what it said, what is right, on which text."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    text: str = Field(sa_type=sa.Text)
    field: str = Field(max_length=32)  # kind, reasons, primary_reason, role, safeguarding
    predicted: Any = Field(default=None, sa_type=sa.JSON)
    corrected: Any = Field(default=None, sa_type=sa.JSON)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    created_at: datetime = utc_field(default_factory=utcnow, nullable=False)


class ConversationState(SQLModel, table=True):
    """Where a chat conversation is (state and data), so a restart carries on where it was."""

    key: str = Field(primary_key=True, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    data: dict[str, Any] = json_field(dict)
    updated_at: datetime = utc_field(default_factory=utcnow, nullable=False)
