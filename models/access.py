"""Officers' access: the sessions of signed-in browsers and the record of sign-in attempts.

Both live in the database, not in a process, so signing out, ending an officer's sessions
and the sign-in limits hold across every web process that shares it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import utc_field


class OfficerSession(SQLModel, table=True):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is kept here,
    so a copy of the database (a backup, say) cannot be used to sign in."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    created_at: datetime = utc_field(nullable=False)
    last_seen_at: datetime = utc_field(nullable=False)
    expires_at: datetime = utc_field(nullable=False)  # the absolute lifetime, however busy the session
    second_factor_done: bool = Field(default=False)  # False between the password and the code
    password_mark: str = Field(default="", max_length=16)  # changes when the password does: old sessions end
    ended_at: datetime | None = utc_field(default=None)
    ended_why: str = Field(default="", max_length=60)
    address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=200)


class SignInAttempt(SQLModel, table=True):
    """A password or code tried at sign-in. `name_key` is the name as the lookup normalises it."""

    id: int | None = Field(default=None, primary_key=True)
    name_key: str = Field(max_length=120, index=True)
    address: str = Field(max_length=64)
    at: datetime = utc_field(nullable=False, index=True)
    succeeded: bool = Field(default=False)
